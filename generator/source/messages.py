"""Turn pydantic validation errors into located, human diagnostics.

pydantic reports `loc` tuples such as ("tools", 2, "name"); the YAML loader
recorded the line of each such path, so every message can point at the line
the user must edit. Messages are rewritten where pydantic's wording would make
the user read a regular expression.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import types
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from generator import models
from generator.diagnostics import Diagnostic, dotted_path
from generator.source.yamlsafe import LoadedYaml

_PATTERN_HINTS = {
    models.DNS_LABEL: "must be a DNS-1123 label: lower-case letters, digits and '-', "
    "starting and ending with a letter or digit, at most 63 characters",
    models.ENV_NAME: "must be an environment variable name: letters, digits and '_', not starting with a digit",
    models.DIGEST: "must be 'sha256:' followed by 64 lower-case hex digits",
    models.TOOL_NAME: "must be a tool name: letters, digits, '_', '.' and '-', at most 128 characters",
    models.TAG: "must be a tag: lower-case letters, digits and '-', 2 to 50 characters",
    models.HOST: "must be a lower-case host name, optionally starting with '.' for all subdomains",
    models.QUANTITY: "must be a Kubernetes quantity such as 100m, 0.5, 128Mi or 1Gi",
    models.REVERSE_DNS: "must be a reverse-DNS name such as com.example.mcp",
    r"^[^\r\n]*$": "must be a single line",
    models.HTTP_URL: "must be an http:// or https:// URL",
}


def diagnostics_from(error: ValidationError, model: type[BaseModel], source: LoadedYaml, path: str) -> list[Diagnostic]:
    """One diagnostic per pydantic error, located in `source` and shown as `path`.

    An error at or under a value the YAML reading refused is left out: that value's problem
    is already reported, and its absence (a required field missing) is no second problem.
    """
    found = []
    refused = source.refused
    items = error.errors(include_url=False)
    misspelt = _misspelt_required(items, model)
    for item in items:
        loc = tuple(item["loc"])
        if refused and any(loc[:depth] in refused for depth in range(1, len(loc) + 1)):
            continue  # one set lookup per depth: a file of 300,000 refused aliases made this quadratic
        if item["type"] == "missing" and loc in misspelt:
            continue  # the unknown key's "did you mean" names it, on the line to edit
        line = source.line_of(loc)
        found.append(Diagnostic(path, line, dotted_path(loc), _message(item, model, loc, lambda: source.line_text(line))))
    return found



def _misspelt_required(items: list[Any], model: type[BaseModel]) -> set[tuple[str | int, ...]]:
    """The paths of required fields that an unknown key beside them is a misspelling of (`transprot`
    for `transport`): one typo is one message, the unknown key's, not a second one on line 1."""
    suggested = set()
    for item in items:
        if item["type"] == "extra_forbidden":
            loc = tuple(item["loc"])
            if close := _closest_key(model, loc):
                suggested.add((*loc[:-1], close))
    return suggested


def _message(item: dict[str, Any], model: type[BaseModel], loc: tuple[str | int, ...], line_text: Callable[[], str]) -> str:
    kind = item["type"]
    if kind == "extra_forbidden":
        return _unknown_key(model, loc)
    if kind == "missing":
        return "required field is missing"
    if kind == "string_pattern_mismatch":
        pattern = item["ctx"]["pattern"]
        return _PATTERN_HINTS.get(pattern, f"must match {pattern}")
    if kind == "value_error":
        return str(item["ctx"]["error"])
    if kind == "string_type" and isinstance(item["input"], (int, float)) and not isinstance(item["input"], bool):
        return _number_for_text(item["input"], line_text())
    if kind == "string_type" and not isinstance(item["input"], (list, dict, type(None))):
        return f"must be a string; YAML read {item['input']!r} as {type(item['input']).__name__}: put it in quotes"
    if kind == "string_type":
        return _text_expected(item["input"], loc)
    if kind in ("bool_type", "int_type") and isinstance(item["input"], (str, int, float)):
        return _scalar_type(kind, item["input"])
    if kind == "string_too_long" and isinstance(item["input"], str):
        return f"must be at most {item['ctx']['max_length']} characters; it has {len(item['input'])}: shorten it"
    if kind == "list_type":
        return f"must be a list, not {_what(item['input'])}: write {_as_list(item['input'])} or one '- item' line per item below it"
    if kind in ("model_type", "dict_type"):
        return f"must be a mapping, not {_what(item['input'])}: write one 'key: value' line per field below it, indented"
    if kind == "literal_error":
        return f"must be one of {item['ctx']['expected']}, not {item['input']!r}"
    return item["msg"][0].lower() + item["msg"][1:]


def _text_expected(value: list[Any] | dict[str, Any] | None, loc: tuple[str | int, ...]) -> str:
    """Nothing, a list or a mapping where one text goes: pydantic said "input should be a valid string",
    which does not tell a newcomer that `title:` was left empty, or that server.json's
    `repository: {url: ...}` is one URL here."""
    key = loc[-1] if loc else None
    where = f"after `{key}:` on this line" if isinstance(key, str) else "as this item"
    if value is None:
        return f"is empty: write its value {where}"
    url = value.get("url") if isinstance(value, dict) else None
    if isinstance(key, str) and isinstance(url, str) and url.isprintable() and len(url) <= 200:
        return f"must be text, not {_what(value)}: write the URL alone, `{key}: {url}`"
    return f"must be text, not {_what(value)}: write one value {where}"


def _what(value: Any) -> str:
    """What YAML made of a value written in the wrong shape, as the author would say it."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {ascii(value[:60])}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return f"the date {value.isoformat()}"
    return "nothing" if value is None else f"the number {value!r}"


def _as_list(value: Any) -> str:
    """The list an author who wrote one text or whole number (or `a, b`) where a list goes most likely
    meant. Not a fraction or a date: YAML read those from what was written (`1.10` as 1.1), and the
    list of that value would be read the same way, so the example is a generic one."""
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).isprintable() and len(str(value)) <= 60:
        return f"[{value}]"
    return "[a, b]"


# A number as YAML writes one: what a line may hold where a number was read.
_YAML_NUMBER = re.compile(r"(?<![^\s:\[{,-])[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?(?![^\s,\]}#])")


# Past this length a line is not searched for the number as written (a flow list of 100,000 numbers).
_SEARCHED_LINE = 1000


def _number_for_text(value: int | float, line: str) -> str:
    """Text that YAML read as a number. The message quotes the value as written on its line, when it
    is the one number of that value there (a comment left out): `1.10` reads as 1.1, and an author told
    to quote "1.1" gets another version. Otherwise it names no value, for the same reason."""
    code = re.split(r"\s#", line, maxsplit=1)[0] if len(line) <= _SEARCHED_LINE else ""
    written = [token for token in _YAML_NUMBER.findall(code) if _number(token) == value]
    if len(written) != 1:
        return "must be a string; YAML read this value as a number: put it in quotes, as you wrote it"
    shown = f"{written[0]} as the number {value!r}" if written[0] != repr(value) else f"{written[0]} as a number"
    return f'must be a string; YAML read {shown}: write it in quotes, "{written[0]}"'


def _number(token: str) -> int | float | None:
    try:
        cleaned = token.replace("_", "")
        return float(cleaned) if any(mark in cleaned for mark in ".eE") else int(cleaned)
    except ValueError:
        return None


def _scalar_type(kind: str, value: str | int | float) -> str:
    """A flag or whole number given as another scalar; quotes are the likely cause when the text is one."""
    wanted, written = ("true or false", ("true", "false")) if kind == "bool_type" else ("a whole number", None)
    if isinstance(value, str) and (value.lower() in written if written else value.strip().isdigit()):
        return f"must be {wanted}; YAML read {value!r} as text because of its quotes: remove them"
    return f"must be {wanted}, not {value!r}"


def _unknown_key(model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    owner = _model_at(model, loc[:-1])
    known = sorted(owner.model_fields) if owner else []
    close = _closest_key(model, loc)
    hint = f"; did you mean '{close}'?" if close else (f"; known keys: {', '.join(known)}" if known else "")
    return f"unknown key '{loc[-1]}'{hint}"


def _closest_key(model: type[BaseModel], loc: tuple[str | int, ...]) -> str | None:
    """The key allowed at `loc` that the unknown key there most likely misspells, if any."""
    owner = _model_at(model, loc[:-1])
    close = difflib.get_close_matches(str(loc[-1]), sorted(owner.model_fields), n=1, cutoff=0.6) if owner else []
    return close[0] if close else None


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that owns the value at `loc`, following field annotations."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, str):
            if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
                return None
            current = current.model_fields[part].annotation
        else:
            args = typing.get_args(current)
            current = args[0] if args else None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated so lists and models show through."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(options[0]) if len(options) == 1 else annotation
    return annotation
