"""Byte-stable Kubernetes YAML and resource names for the manifest bundles.

Everything here is deterministic: keys keep the order the builders gave them
and no timestamp is written. Source text never reaches a comment unfiltered (a newline in a
comment would start a YAML key of the attacker's choosing); values go through
the YAML emitter, which quotes whatever needs quoting.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import yaml

MANAGED_BY = {"app.kubernetes.io/managed-by": "mcp-catalog"}


# Plain (unquoted) scalars are limited to a conservative character set; anything else, or
# anything YAML 1.1 would read as another type (yes, 1e3, 2026-01-01, ~), is double-quoted.
# Plain (unquoted) scalars: never one starting with "...", which at the start of a line ends the document.
_PLAIN = re.compile(r"^(?!\.\.\.)[A-Za-z0-9_./][A-Za-z0-9_./@+=-]*(?:[ :][A-Za-z0-9_./@+=-]+)*$")
_RESOLVER = yaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"
# Characters YAML does not allow raw in a double-quoted scalar although JSON does.
_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
# ... and, for a literal block, every control character but the newline (tabs and CR included).
_NOT_IN_BLOCK = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_BLOCK_SAFE_ASCII = b"\n" + bytes(range(0x20, 0x7F))


def yaml_text(value: Any) -> str:
    """One YAML document for `value`, keys in the order given, no document markers.

    A small emitter for the plain data the bundles hold (mappings with string keys, lists,
    strings, numbers, booleans, None): PyYAML's representer was most of a large build's
    time. Multi-line strings become literal blocks, so configYAML and registry JSON stay
    readable. `tests/test_bundles_yaml.py` checks that PyYAML reads back the same value.
    """
    lines: list[str] = []
    _emit(value, 0, lines)
    return "\n".join(lines) + "\n"


def _emit(value: Any, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            lines.append(pad + "{}")
        for key, item in value.items():
            _emit_entry(f"{pad}{_scalar(str(key))}:", item, indent, lines)
    elif isinstance(value, list):
        if not value:
            lines.append(pad + "[]")
        for item in value:
            _emit_entry(f"{pad}-", item, indent, lines, in_list=True)
    else:
        lines.append(pad + _inline(value, indent))


def _emit_entry(prefix: str, item: Any, indent: int, lines: list[str], in_list: bool = False) -> None:
    if isinstance(item, (dict, list)) and item:
        if in_list and isinstance(item, dict):
            # "- key: value" with the rest of the mapping aligned under the first key.
            nested: list[str] = []
            _emit(item, indent + 2, nested)
            lines.append(prefix + " " + nested[0][indent + 2 :])
            lines.extend(nested[1:])
        else:
            lines.append(prefix)
            _emit(item, indent + 2, lines)
    else:
        lines.append(prefix + " " + _inline(item, indent + 2))


def _inline(value: Any, indent: int) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    text = str(value)
    if "\n" in text and _fits_literal_block(text):
        chomp = "" if text.endswith("\n") else "-"
        body = text[:-1] if text.endswith("\n") else text
        pad = " " * indent
        return f"|{chomp}\n" + "\n".join(pad + line if line else "" for line in body.split("\n"))
    return _scalar(text)


def _fits_literal_block(text: str) -> bool:
    """A literal block keeps text exactly only without these edge cases; they get quotes instead."""
    if text.endswith(("\n\n", " ")) or text.startswith((" ", "\n")) or " \n" in text:
        return False
    # A registry ConfigMap holds a megabyte of JSON: the regex is the slow way to look at it.
    # ASCII text (isascii() is a flag of the string) fits when nothing but printable ASCII and
    # newlines is left; otherwise every character _NOT_IN_BLOCK names is unprintable to Python.
    if text.isascii():
        return not text.encode("ascii").translate(None, _BLOCK_SAFE_ASCII)
    return text.replace("\n", "").isprintable() or not _NOT_IN_BLOCK.search(text)


def literal_line(data: bytes) -> bool:
    """Whether `data` (UTF-8) is one line and its newline that `yaml_text` writes as a literal block
    of itself (the line indented), so that its bytes can be spliced into a document unchanged."""
    if data.count(b"\n") != 1 or not data.endswith(b"\n"):
        return False
    if data.isascii():  # the fast way to say what _fits_literal_block says, for the common case
        return not data.startswith((b" ", b"\n")) and not data.endswith(b" \n") and not data.translate(None, _BLOCK_SAFE_ASCII)
    return _fits_literal_block(data.decode("utf-8"))


def _scalar(text: str) -> str:
    # Names, labels and keys repeat across thousands of objects: those are cached. A long value
    # (a policy's CEL expression, 100 KB at 10,000 servers) is not: the cache would keep it alive,
    # with its quoted copy, long after its document is written (50 MB in a profile's bundle task).
    return _short_scalar(text) if len(text) <= _CACHED_SCALAR else _quoted_unless_plain(text)


_CACHED_SCALAR = 256


@functools.lru_cache(maxsize=65536)
def _short_scalar(text: str) -> str:
    return _quoted_unless_plain(text)


def _quoted_unless_plain(text: str) -> str:
    if _PLAIN.fullmatch(text) and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _STR_TAG:
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", quoted)


def comment_safe(text: str) -> str:
    """`text` with every character that could end a YAML comment (a line break of any kind, control
    characters, anything beyond printable ASCII) replaced by `?`: the comment then runs to the end of
    its line, so no source value can start a key, a document or a directive after it."""
    return re.sub(r"[^ -~]", "?", text)


def header(catalog_version: str, source: str, note: str = "") -> str:
    """The comment each generated file starts with: catalog version and the source it came from."""
    lines = [
        "# Generated by mcp-catalog: do not edit, rebuild the catalog instead.",
        f"# catalog version: {comment_safe(catalog_version)}",
        f"# source: {comment_safe(source)}",
    ]
    lines += [f"# {comment_safe(line)}" for line in note.splitlines()]
    return "\n".join(lines) + "\n"


def document_bytes(head: str, value: Any) -> bytes:
    """A one-document YAML file: the header comment, then the document."""
    return (head + yaml_text(value)).encode("utf-8")
