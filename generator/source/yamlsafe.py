"""Hardened YAML loading that keeps the line of every key and list item.

Source files are treated as hostile: anchors and aliases are refused (alias
bombs), so are explicit tags, duplicate keys, tab indentation, non-UTF-8 bytes,
deep nesting and multi-document streams. The parsing itself is libyaml's
composer; the Python objects are built here so that each value's line survives
into validation messages (`path:line: field: message`).

This module knows nothing of the catalog: it returns plain dicts, lists and
scalars plus a map from value paths such as ("tools", 2, "name") to lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is part of the wheels we install
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_DEPTH = 64
Path = tuple[str | int, ...]

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}
_scalars = yaml.constructor.SafeConstructor()


@dataclass(frozen=True)
class YamlProblem:
    """Why a YAML text was refused, and on which 1-based line (0: the whole file)."""

    line: int
    message: str


@dataclass
class LoadedYaml:
    """A parsed mapping document and the line of every value path in it."""

    data: dict[str, Any]
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int:
        """The line of `path`, or of its nearest recorded ancestor."""
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)


class YamlRefused(Exception):
    """Raised by `load_mapping` with every problem found in one text."""

    def __init__(self, problems: list[YamlProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def load_mapping(raw: bytes) -> LoadedYaml:
    """Parse `raw` as one YAML mapping, or raise `YamlRefused` saying why not."""
    text = _decode(raw)
    _refuse_tab_indentation(text)
    if "&" in text or "*" in text:
        _refuse_anchors_and_aliases(text)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise YamlRefused([YamlProblem(line, f"invalid YAML: {exc.problem or exc.context}")]) from None
    except yaml.YAMLError as exc:
        raise YamlRefused([YamlProblem(0, f"invalid YAML: {exc}")]) from None
    if root is None:
        raise YamlRefused([YamlProblem(0, "file is empty: expected a mapping of fields")])
    if not isinstance(root, yaml.MappingNode):
        raise YamlRefused([YamlProblem(root.start_mark.line + 1, "expected a mapping of fields at the top level")])
    builder = _Builder()
    data = builder.build(root, (), 0)
    if builder.problems:
        raise YamlRefused(builder.problems)
    return LoadedYaml(data, builder.lines)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlRefused([YamlProblem(line, f"file is not UTF-8 (byte 0x{raw[exc.start]:02x})")]) from None


def _refuse_tab_indentation(text: str) -> None:
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            raise YamlRefused([YamlProblem(number, "tab character in indentation: indent with spaces")])


def _refuse_anchors_and_aliases(text: str) -> None:
    # Only reached when the text holds '&' or '*', so ordinary files skip this
    # second pass; the event stream tells a real anchor from an '&' in a string.
    problems = []
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                problems.append(
                    YamlProblem(event.start_mark.line + 1, "YAML anchors and aliases are not allowed: write the value out")
                )
    except yaml.YAMLError:
        return  # compose() reports the syntax error with its line
    if problems:
        raise YamlRefused(problems)


class _Builder:
    """Turns composed nodes into Python values, recording lines and problems."""

    def __init__(self) -> None:
        self.lines: dict[Path, int] = {}
        self.problems: list[YamlProblem] = []

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        line = node.start_mark.line + 1
        if depth > MAX_DEPTH:
            self.problems.append(YamlProblem(line, f"nested deeper than {MAX_DEPTH} levels"))
            return None
        if node.tag not in _STANDARD_TAGS:
            self.problems.append(YamlProblem(line, f"tag {node.tag} is not allowed"))
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.lines[(*path, index)] = item.start_mark.line + 1
                items.append(self.build(item, (*path, index), depth + 1))
            return items
        try:
            return _scalars.construct_object(node)
        except yaml.YAMLError as exc:
            self.problems.append(YamlProblem(line, f"bad value: {getattr(exc, 'problem', exc)}"))
            return None

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(YamlProblem(line, "mapping keys must be plain names"))
                continue
            # The raw text is used as the key, so `on:` or `1:` stay strings
            # instead of turning into booleans or numbers.
            key = key_node.value
            if key in result:
                first = self.lines[(*path, key)]
                self.problems.append(YamlProblem(line, f"duplicate key '{key}' (first defined on line {first})"))
                continue
            self.lines[(*path, key)] = line
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result
