"""The words the source models state their cross-field rules in, for the editor's JSON Schema.

A model whose validator refuses a combination of fields (a remote server with a `port`) states the
same rule in its `json_schema_extra` with these helpers, beside the validator, so that what an
editor marks is what `validate` refuses. They only spell JSON Schema (draft 2020-12): they check
nothing, and a rule they spell must be exactly the validator's: never stricter (a file `validate`
accepts passes the schema), and refusing every file the validator refuses for that rule
(`tests/test_schema_rules.py` holds each rule to its validator).
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def null() -> Schema:
    """Left out or null: a `properties` entry an absent key passes too (what `if not self.field` sees)."""
    return {"type": "null"}


def not_null() -> Schema:
    """A value other than null."""
    return {"not": {"type": "null"}}


def given(*fields: str) -> Schema:
    """Each field written with a value other than null (what `if self.field` sees of a value
    that is never empty when valid: a reference, an object, a number)."""
    return {"required": list(fields), "properties": {field: not_null() for field in fields}}


def rule(says: str, *, when: Schema, then: Schema) -> Schema:
    """When the object matches `when`, it must match `then`; `says` is the validator's message."""
    return {"description": says, "if": when, "then": then}


def exactly_one(says: str, *choices: Schema) -> Schema:
    """The object matches exactly one of `choices`."""
    return {"description": says, "oneOf": list(choices)}


def rules(*stated: Schema) -> Schema:
    """A model's `json_schema_extra`: every rule must hold."""
    return {"allOf": list(stated)}
