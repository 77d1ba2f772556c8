"""How `diff` prints a value it takes from a release: the one place that decides what is shown bare.

A release may be hostile: every name, URL, path or setting the report prints passes through `shown`
(`shown_or` where the release may have no value, `quoted` for free text), so that no hidden
character, line break or arrow in it passes unseen or for the report's own.
"""

from __future__ import annotations

import json
from typing import Any


def shown(value: Any) -> str:
    """A value from a release as a reviewer reads it: a plain word or reference bare, anything else as
    JSON, escaped (so a hidden character such as U+202E shows as `\\u202e`, a line break cannot write a
    line of the report, nor an arrow pass for its own, nor a quoted value for an escaped one). Every
    value the report prints from a release, a name or set item as much as a setting, goes through it."""
    if (isinstance(value, str) and value and value.strip() == value and value.isprintable() and value != "none"
            and " -> " not in value and value[0] not in '"[{'):
        return value
    return json.dumps(value, sort_keys=True)


def shown_or(value: Any, absent: str = "none") -> str:
    """`shown(value)`, or `absent` when the release has no value there (none, or an empty text: they
    read the same to a reviewer)."""
    return absent if value is None or value == "" else shown(value)


def quoted(value: Any) -> str:
    """Free text (a description, notes) or any other value the diff always quotes (a default, a
    profile's value): as JSON, escaped, even when plain, so that a text reads as a text, no character
    hides in it, and no line break or arrow in it can pass for the report's own; "none" when absent."""
    return "none" if value is None else json.dumps(value)
