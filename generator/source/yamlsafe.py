"""Hardened YAML loading that keeps the line of every key and list item.

Source files are treated as hostile: anchors and aliases are refused (alias
bombs), so are explicit non-standard tags, any tag or anchor on a key, duplicate
keys, tab indentation, non-UTF-8 bytes, deep nesting and multi-document streams.

Values are built straight from libyaml's event stream in one pass, without
PyYAML's node graph and constructors: that is what makes 10,000 files load in
seconds, and it lets each value's line survive into validation messages
(`path:line: field: message`). This module knows nothing of the catalog: it
returns plain dicts, lists and scalars plus a map from value paths such as
("tools", 2, "name") to lines. A problem in one value need not hide the rest:
read `partial`, a document is returned without its refused values, each problem
with its line and value path; a problem in the structure refuses the whole text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from generator.text import KEY_CONTROL, control_characters

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is part of the wheels we install
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_DEPTH = 64
Path = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_INT = "tag:yaml.org,2002:int"
_STANDARD_TAGS = {_STR} | {
    f"tag:yaml.org,2002:{name}" for name in ("int", "float", "bool", "null", "timestamp", "map", "seq")
}
_CONTAINER_TAGS = {None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers
_constructor = yaml.constructor.SafeConstructor()


@dataclass(frozen=True)
class YamlProblem:
    """Why a YAML text, or a value in it, was refused; on which 1-based line (0: the whole file) and at which value path."""

    line: int
    message: str
    at: Path | None = None
    """The path of the value concerned, such as ("tools", 2, "name"); None when it is the document's structure."""


class LoadedYaml:
    """A parsed mapping document; the line of every value path is found on demand.

    Lines are needed only for messages, so bulk loading skips recording them
    and a document re-reads its own bytes the first time a line is asked for.
    A document read with `partial` may lack values that were refused: `problems` says why,
    `refused` holds their paths.
    """

    def __init__(
        self,
        data: dict[str, Any],
        raw: bytes | None,
        lines: dict[Path, int] | None = None,
        file: str | None = None,
        *,
        problems: tuple[YamlProblem, ...] = (),
        refused: frozenset[Path] = frozenset(),
    ) -> None:
        self.data = data
        self.raw = raw
        self.file = file
        self._lines = lines
        self.problems = problems
        self.refused = refused
        self._text_lines: list[str] | None = None

    def without_text(self, file: str) -> LoadedYaml:
        """The same document without its bytes (cheap to send to another process); lines come from `file`."""
        return LoadedYaml(self.data, None, self._lines, file, problems=self.problems, refused=self.refused)

    def for_messages(self) -> LoadedYaml:
        """The same document without its values: its lines (or what finds them) and no more."""
        return LoadedYaml({}, self.raw if self.file is None else None, self._lines, self.file)

    @property
    def lines(self) -> dict[Path, int]:
        """Map from value paths such as ("tools", 2, "name") to 1-based lines."""
        if self._lines is None:
            raw = self.raw
            if raw is None:
                assert self.file is not None
                with open(self.file, "rb") as handle:  # the source is not expected to change mid-run
                    raw = handle.read()
            self._lines = load_mapping(raw, track_lines=True, partial=True)._lines or {}
        return self._lines

    def line_text(self, line: int) -> str:
        """The text of the 1-based `line` as written ("" past the end): for messages that quote it.
        The file is split into lines once, on the first call (a file may have an error on every line)."""
        if self._text_lines is None:
            raw = self.raw
            if raw is None and self.file is not None:
                with open(self.file, "rb") as handle:
                    raw = handle.read()
            self._text_lines = [] if raw is None else raw.decode("utf-8", "replace").splitlines()
        return self._text_lines[line - 1] if 0 < line <= len(self._text_lines) else ""

    def line_of(self, path: Path) -> int:
        """The line of `path`, or of its nearest recorded ancestor."""
        lines = self.lines
        while path not in lines and path:
            path = path[:-1]
        return lines.get(path, 1)


class YamlRefused(Exception):
    """Raised by `load_mapping` with every problem found in one text."""

    def __init__(self, problems: list[YamlProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def load_mapping(raw: bytes, *, track_lines: bool = False, partial: bool = False) -> LoadedYaml:
    """Parse `raw` as one YAML mapping, or raise `YamlRefused` saying why not.

    With `partial`, a document whose problems are all in values (a scalar that cannot be
    read, an anchor, an alias, a tag, a duplicate key) is returned without those values, the
    problems in its `problems`; one with a problem in its structure is still refused.
    """
    text = _decode(raw)
    _refuse_raw_separators(text)
    _refuse_tab_indentation(text)
    # A control character in a value needs an escape, hence a backslash (raw separators are refused above).
    if not track_lines and "\\" not in text:
        root = _fast_values(text)
        if isinstance(root, dict):
            return LoadedYaml(root, raw)
        # Anything unusual (an empty file, a refused construct, a syntax error)
        # takes the careful path below, which says where and why.
    builder = _Builder()
    loader = _Loader(text)
    try:
        next_event, feed = loader.get_event, builder.feed
        while (event := next_event()) is not None:
            feed(event)
    except yaml.MarkedYAMLError as exc:
        builder.problems.append(_syntax_problem(exc))
        builder.fatal = True
    except yaml.reader.ReaderError as exc:
        builder.problems.append(_character_problem(exc, text))
        builder.fatal = True
    except yaml.YAMLError as exc:
        builder.problems.append(YamlProblem(0, f"invalid YAML: {exc}"))
        builder.fatal = True
    finally:
        loader.dispose()
    if builder.problems and (builder.fatal or not partial or not isinstance(builder.root, dict)):
        raise YamlRefused(builder.problems)
    if builder.root is None:
        raise YamlRefused([YamlProblem(0, "file is empty: expected a mapping of fields")])
    if not isinstance(builder.root, dict):
        raise YamlRefused([YamlProblem(builder.root_line, "expected a mapping of fields at the top level")])
    return LoadedYaml(
        builder.root, raw, builder.lines, problems=tuple(builder.problems), refused=frozenset(builder.refused)
    )


def _syntax_problem(error: yaml.MarkedYAMLError) -> YamlProblem:
    """A syntax error on the line to edit, with the line of what it was reading when that is another.

    A token the scanner began and never ended (an unclosed quote) is reported where it began: the
    problem itself is only found at the end of the file.
    """
    problem, context = error.problem or error.context, error.context
    line = error.problem_mark.line + 1 if error.problem_mark else 0
    begun = error.context_mark.line + 1 if error.context_mark else 0
    hint = _HINTS.get(problem, "") or _CONTEXT_HINTS.get(context or "", "")
    if not context or not begun or begun == line or problem == context:
        return YamlProblem(line or begun, f"invalid YAML: {problem}{hint}")
    if context.startswith("while scanning"):
        return YamlProblem(begun, f"invalid YAML: {context} that starts here: {problem} (line {line}){hint}")
    return YamlProblem(line, f"invalid YAML: {problem} ({context} that starts on line {begun}){hint}")


# What the parser's words usually mean in a hand-edited file: a line indented differently from
# the keys or items beside it, or a ': ' inside a value.
_INDENTED = ": indent this line with as many spaces as the keys or items beside it"
_HINTS = {
    "did not find expected key": _INDENTED,
    "did not find expected '-' indicator": _INDENTED,
    "mapping values are not allowed in this context": (
        ": quote a value that holds ': ', or indent this line with as many spaces as the keys beside it"
    ),
}
_CONTEXT_HINTS = {
    "while scanning a quoted scalar": (
        ": close the quote this value opens (inside \"...\" write \\\" for a quote, inside '...' write '')"
    ),
}


def _character_problem(error: yaml.reader.ReaderError, text: str) -> YamlProblem:
    """A character YAML does not allow, on its line (the reader gives only its position)."""
    # libyaml counts the position in bytes of UTF-8, PyYAML's own reader in characters.
    before = text.encode("utf-8")[: error.position].decode("utf-8", "ignore") if _Loader is not yaml.SafeLoader else text[: error.position]
    character = error.character if isinstance(error.character, int) else ord(error.character)
    return YamlProblem(before.count("\n") + 1, f"invalid YAML: {error.reason}: remove the character \\u{character:04x}")


_REFUSED = object()


def _fast_values(text: str) -> Any:
    """The document's value when it is plain, or `_REFUSED` at the first thing that is not.

    The bulk-loading path: same values as `_Builder`, no lines, no messages,
    one tight loop (the per-event cost of this loop is most of the load time), so the
    open container is kept in locals rather than looked up on the stack for every event.
    """
    loader = _Loader(text)
    next_event = loader.get_event
    stack: list[tuple[Any, Any, bool]] = []  # the enclosing containers: (value, pending key, is_mapping)
    container: Any = None  # the open mapping or list (None at the top level)
    key: Any = _REFUSED  # in a mapping: the key awaiting its value, else _REFUSED
    is_mapping = False
    root: Any = None
    documents = 0
    try:
        while (event := next_event()) is not None:
            kind = type(event)
            if kind is ScalarEvent:
                if event.anchor is not None:
                    return _REFUSED
                if is_mapping and key is _REFUSED:
                    if event.tag is not None:
                        return _REFUSED  # a tagged key
                    key = event.value
                    if key in container:
                        return _REFUSED
                    continue
                value = _plain_scalar(event)
                if value is _REFUSED:
                    return _REFUSED
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if event.anchor is not None or event.tag not in _CONTAINER_TAGS or len(stack) >= MAX_DEPTH:
                    return _REFUSED
                if is_mapping and key is _REFUSED:
                    return _REFUSED  # a mapping or list as a key
                stack.append((container, key, is_mapping))
                is_mapping = kind is MappingStartEvent
                container, key = ({} if is_mapping else []), _REFUSED
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                value = container
                container, key, is_mapping = stack.pop()
            elif kind is DocumentStartEvent:
                documents += 1
                if documents > 1:
                    return _REFUSED
                continue
            elif kind is AliasEvent:
                return _REFUSED
            else:
                continue
            if container is None:
                root = value
            elif is_mapping:
                container[key] = value
                key = _REFUSED
            else:
                container.append(value)
    except yaml.YAMLError:
        return _REFUSED
    finally:
        loader.dispose()
    return root


def _plain_scalar(event: ScalarEvent) -> Any:
    """The value of a scalar with no tag or a standard one; `_REFUSED` otherwise."""
    value, tag = event.value, event.tag
    if tag is None or tag == "!":
        if not event.implicit[0]:
            return value
        if not value:
            return None
        tag = _STR
        for candidate, pattern in _IMPLICIT.get(value[0], ()):
            if pattern.match(value):
                tag = candidate
                break
    if tag == _STR:
        return value
    if tag == _BOOL:
        return value.lower() in ("yes", "true", "on")
    if tag == _NULL:
        return None
    if tag == _INT and value.isdigit():
        return int(value)
    if tag not in _STANDARD_TAGS:
        return _REFUSED
    node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
    try:
        return _constructor.construct_object(node)
    except (yaml.YAMLError, ValueError, OverflowError):  # ValueError: 2026-02-30 matches the date pattern
        return _REFUSED


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlRefused([YamlProblem(line, f"file is not UTF-8 (byte 0x{raw[exc.start]:02x})")]) from None


# YAML readers take U+0085, U+2028 and U+2029 for line breaks, editors do not: one raw in a file
# would put every line number reported after it off by one (and no value may hold one anyway).
_RAW_SEPARATORS = re.compile("[\x85\u2028\u2029]")


def _refuse_raw_separators(text: str) -> None:
    """Refuse a text holding a raw line separator, on each line (as an editor counts) that holds one."""
    if _RAW_SEPARATORS.search(text) is None:
        return
    raise YamlRefused([
        YamlProblem(number, f"{control_characters(line, _RAW_SEPARATORS)} (a YAML reader takes it for a line break)")
        for number, line in enumerate(text.split("\n"), start=1) if _RAW_SEPARATORS.search(line)
    ])


def _refuse_tab_indentation(text: str) -> None:
    if "\t" not in text:
        return
    for number, line in enumerate(text.split("\n"), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            raise YamlRefused([YamlProblem(number, "tab character in indentation: indent with spaces")])


class _Frame:
    """An open mapping or sequence: its value, its path, and the key awaiting a value.

    A container that is left out (refused, or the value of a duplicate key) is still read, for
    the problems inside it, but keeps the lines of what it holds to itself (`lines`) and adds
    nothing to `refused`: what it held is gone with it.
    """

    __slots__ = ("value", "path", "key", "duplicate", "key_refused", "left_out", "refused", "discarding", "in_anchored", "lines")

    def __init__(self, value: dict[str, Any] | list[Any], path: Path, lines: dict[Path, int]) -> None:
        self.value = value
        self.path = path
        self.key: Any = None
        self.duplicate = False  # `key` was given before: its value is dropped
        self.key_refused = False  # `key` itself is refused (an anchor, a tag): its value is left out
        self.left_out: set[str] | None = None  # keys whose value was refused (given again, still a duplicate)
        self.refused = False  # this container is refused: left out when it closes
        self.discarding = False  # this container, or one around it, is left out
        self.in_anchored = False  # this container, or one around it, has an anchor
        self.lines = lines


class _Builder:
    """The careful path: builds values from events, recording every line and every problem.

    A problem in a value (a scalar that cannot be read, an anchor, an alias, a tag, a duplicate
    key) leaves that value out and reading goes on: the key stays unset, a list holds None in
    its place, and the value's path is in `refused`. A problem in the document's structure
    sets `fatal` (or raises at once when reading on would misplace what follows).
    """

    def __init__(self) -> None:
        self.root: Any = None
        self.root_line = 1
        self.lines: dict[Path, int] = {}
        self.problems: list[YamlProblem] = []
        self.refused: set[Path] = set()
        self.fatal = False
        self._stack: list[_Frame] = []
        self._documents = 0

    def feed(self, event: yaml.Event) -> None:
        kind = type(event)
        if kind is ScalarEvent:
            if self._stack and isinstance(self._stack[-1].value, dict) and self._stack[-1].key is None:
                self._key(event)
            elif self._acceptable(event) and (value := self._scalar(event)) is not _REFUSED:
                self._done(value, event)
            else:
                self._leave_out(event.start_mark.line + 1)
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            self._open(event, {} if kind is MappingStartEvent else [])
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            self._close()
        elif kind is AliasEvent:
            self._alias(event)
        elif kind is DocumentStartEvent:
            self._documents += 1
            if self._documents > 1:
                self._refuse(event, "only one YAML document per file (remove the second '---')", None, fatal=True)

    def _open(self, event: yaml.Event, value: dict[str, Any] | list[Any]) -> None:
        self._refuse_as_key(event)
        parent = self._stack[-1] if self._stack else None
        path = self._child_path(parent, event)
        if len(self._stack) >= MAX_DEPTH:
            self._refuse(event, f"nested deeper than {MAX_DEPTH} levels", path, fatal=True)
            raise YamlRefused(self.problems)
        refused = not self._acceptable(event)
        discarded = refused or (parent is not None and (parent.duplicate or parent.key_refused))
        frame = _Frame(value, path, {} if discarded else parent.lines if parent else self.lines)
        frame.refused = refused
        frame.discarding = discarded or (parent is not None and parent.discarding)
        frame.in_anchored = event.anchor is not None or (parent is not None and parent.in_anchored)
        self._stack.append(frame)

    def _close(self) -> None:
        frame = self._stack.pop()
        if frame.refused:
            self._leave_out()
        else:
            self._done(frame.value, None)

    def _alias(self, event: AliasEvent) -> None:
        # An alias inside an anchored list or mapping is what an alias bomb is built of.
        bomb = bool(self._stack) and self._stack[-1].in_anchored
        frame = self._stack[-1] if self._stack else None
        if frame is not None and isinstance(frame.value, dict) and frame.key is None:
            # A key that is an alias has no name to report or leave out: its value is dropped unnamed.
            self._refuse(event, _KEY_ANCHOR, frame.path, fatal=bomb)
            frame.key, frame.duplicate = f"*{event.anchor}", True
            return
        self._refuse(event, "YAML anchors and aliases are not allowed: write the value out", self._value_path(), fatal=bomb)
        self._leave_out(event.start_mark.line + 1)

    def _refuse_as_key(self, event: yaml.Event) -> None:
        if self._stack and isinstance(self._stack[-1].value, dict) and self._stack[-1].key is None:
            self._refuse(event, "mapping keys must be plain names", None, fatal=True)
            raise YamlRefused(self.problems)

    def _key(self, event: ScalarEvent) -> None:
        frame = self._stack[-1]
        key = event.value  # raw text: `on:` or `1:` stay strings, never booleans or numbers
        at = (*frame.path, key)
        if event.anchor is not None:
            self._refuse(event, _KEY_ANCHOR, at)
        if event.tag is not None:  # read as raw text, a tagged key (`!!binary`, `!!int`) would not mean what it says
            self._refuse(event, f"tag {event.tag} is not allowed on a key: write the key plainly", at)
        controls = control_characters(key, KEY_CONTROL)
        if controls is not None:
            self._refuse(event, f"key {controls}", at)
        if key in frame.value or (frame.left_out is not None and key in frame.left_out):
            first = frame.lines.get(at, 0)
            self._refuse(event, f"duplicate key '{key}' (first defined on line {first})", at)
            frame.duplicate = True
        else:
            frame.lines[at] = event.start_mark.line + 1
            frame.key_refused = event.anchor is not None or event.tag is not None or controls is not None
        frame.key = key

    def _child_path(self, parent: _Frame | None, event: yaml.Event) -> Path:
        if parent is None:
            self.root_line = event.start_mark.line + 1
            return ()
        if isinstance(parent.value, list):
            path = (*parent.path, len(parent.value))
            parent.lines[path] = event.start_mark.line + 1
            return path
        return (*parent.path, parent.key)

    def _value_path(self) -> Path:
        """The path of the value being read."""
        if not self._stack:
            return ()
        frame = self._stack[-1]
        return (*frame.path, len(frame.value) if isinstance(frame.value, list) else frame.key)

    def _done(self, value: Any, event: yaml.Event | None) -> None:
        if not self._stack:
            self.root = value
            if event is not None:
                self.root_line = event.start_mark.line + 1
            return
        frame = self._stack[-1]
        if isinstance(frame.value, list):
            if event is not None:
                frame.lines[(*frame.path, len(frame.value))] = event.start_mark.line + 1
            frame.value.append(value)
        elif frame.key_refused:
            self._leave_out()
        else:
            if not frame.duplicate:
                frame.value[frame.key] = value
            frame.key, frame.duplicate = None, False

    def _leave_out(self, line: int | None = None) -> None:
        """Leave out the value just read (refused): its key stays unset, a list holds None in its place.

        `line` is the value's line, when no line was recorded for it yet (a scalar or an alias).
        """
        if not self._stack:
            self.fatal = True  # the document itself: nothing is left to read
            return
        frame = self._stack[-1]
        if isinstance(frame.value, list):
            path = (*frame.path, len(frame.value))
            if line is not None:
                frame.lines[path] = line
            frame.value.append(None)
            duplicate = False
        else:
            path, duplicate = (*frame.path, frame.key), frame.duplicate
            if not duplicate:
                frame.left_out = (frame.left_out or set()) | {frame.key}
            frame.key, frame.duplicate, frame.key_refused = None, False, False
        if not duplicate and not frame.discarding:  # a duplicate's first value stands
            self.refused.add(path)

    def _acceptable(self, event: yaml.Event) -> bool:
        if event.anchor is not None:
            self._refuse(event, "YAML anchors and aliases are not allowed: write the value out", self._value_path())
            return False
        tag = event.tag
        if tag is not None and tag != "!" and tag not in _STANDARD_TAGS:
            self._refuse(event, f"tag {tag} is not allowed", self._value_path())
            return False
        return True

    def _scalar(self, event: ScalarEvent) -> Any:
        value = _plain_scalar(event)
        if value is _REFUSED and event.tag is None:  # only a date pattern can fail without a tag
            self._refuse(event, f"{event.value!r} reads as a date that does not exist: correct the "
                         "date (or, where it is not meant as one, quote it)", self._value_path())
        elif value is _REFUSED:
            self._refuse(event, f"bad value {event.value!r} for tag {event.tag}", self._value_path())
        elif isinstance(value, str) and (controls := control_characters(value)) is not None:
            self._refuse(event, controls, self._value_path())
            return _REFUSED
        return value

    def _refuse(self, event: yaml.Event, message: str, at: Path | None, *, fatal: bool = False) -> None:
        self.fatal = self.fatal or fatal
        line = event.start_mark.line + 1
        last = self.problems[-1] if self.problems else None
        # One problem for a line of list items refused alike (an alias bomb has thousands); two
        # fields of one mapping on one line are two problems.
        if last is None or (last.line, last.message, _item_of(last.at)) != (line, message, _item_of(at)):
            self.problems.append(YamlProblem(line, message, at))


_KEY_ANCHOR = "YAML anchors and aliases are not allowed on a key: write the key out"


def _item_of(at: Path | None) -> Path | None:
    """What tells two refused values apart for `_Builder._refuse`: a list item counts as its list."""
    return at[:-1] if at and isinstance(at[-1], int) else at
