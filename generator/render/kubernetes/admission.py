"""What every admission policy of the bundles is made of: CEL literals of source values, expressions
kept under the API server's limits, messages, and the ValidatingAdmissionPolicy and its binding.

Every value from the source is hostile: it reaches CEL only through `cel_string` and `cel_value`,
which escape every character that could end a string literal, and a message built with
`cel_message` quotes its literal text the same way. What the policies check is decided in
policy.py (the shapes a profile ships) and workloads.py (what its namespace's service accounts make).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from generator.render.kubernetes.manifests import MANAGED_BY

T = TypeVar("T")

# CEL's parsers refuse an expression of more than 100,000 code points (cel-go's default
# ExpressionSizeCodePointLimit, which the API server keeps; cel-cpp's alike): no expression we
# ship may come near it. A variable holding literals is kept under EXPRESSION_BUDGET code points.
CEL_PARSER_LIMIT = 100_000
EXPRESSION_BUDGET = 90_000
# etcd takes at most 1.5 MiB (1,572,864 bytes) a request: a policy's text stays under this many
# code points, which JSON's escaping of the literals' quotes (about 3 %) keeps below that.
OBJECT_BUDGET = 1_450_000
# The API server stores a policy as one object (etcd takes at most 1.5 MiB a request) and parses
# each expression alone: a large profile's shapes are spread over several policies of at most this
# many code points of CEL literals (`PolicyEntry.cost`, which counts a shape with its image and its
# tool config), each checking only the images and URLs it holds, beside one policy that knows every
# name (its name lists split over variables under EXPRESSION_BUDGET).
SHAPES_BUDGET = 80_000


# Printable ASCII but the quote and the backslash: a string of these is its own literal's body.
_CEL_VERBATIM = re.compile(r'[ !#-\[\]-~]*')


def cel_string(text: str) -> str:
    """`text` as a double-quoted CEL string literal, non-printable and non-ASCII characters escaped."""
    if _CEL_VERBATIM.fullmatch(text):
        return f'"{text}"'
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def cel_value(value: Any) -> str:
    """A JSON-like value as a CEL literal; list and map elements wrapped in `dyn()`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return cel_string(value)
    if isinstance(value, list):
        return cel_list(cel_value(item) for item in value)
    if isinstance(value, dict):
        return cel_map((str(key), cel_value(item)) for key, item in value.items())
    raise TypeError(f"no CEL literal for {type(value).__name__}")


def cel_list(literals: Iterable[str]) -> str:
    """A CEL list literal of elements already encoded (`cel_value`), each wrapped in `dyn()`."""
    return "[" + ", ".join(f"dyn({literal})" for literal in literals) + "]"


def cel_map(entries: Iterable[tuple[str, str]]) -> str:
    """A CEL map literal of (key, value already encoded) pairs, each value wrapped in `dyn()`."""
    return "{" + ", ".join(f"{cel_string(key)}: dyn({literal})" for key, literal in entries) + "}"



class Cel(str):
    """A CEL expression among the literal text of a message (`cel_message`)."""


def cel_message(*parts: str) -> str:
    """CEL: the message joining `parts`, each literal text (made a CEL string by `cel_string`, so a
    hostile name cannot end it) or a `Cel` expression."""
    return " + ".join(part if isinstance(part, Cel) else cel_string(part) for part in parts)


def budgeted(items: Iterable[T], cost: Callable[[T], int], budget: int) -> list[list[T]]:
    """`items` in order, in consecutive parts whose costs add up to at most `budget` (an item costing
    more than `budget` alone is a part of its own). Never empty: no items give one empty part."""
    parts: list[list[T]] = [[]]
    size = 0
    for item in items:
        if parts[-1] and size + cost(item) > budget:
            parts.append([])
            size = 0
        parts[-1].append(item)
        size += cost(item)
    return parts


def map_variables(name: str, pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """Variables holding the CEL map of `pairs` ((key, value already encoded), in order): `name`
    alone when it fits in EXPRESSION_BUDGET code points, else `name_1`, `name_2`, ... each under it."""
    # An entry's share of `cel_map`: `"key": dyn(literal)` and its separator.
    chunks = budgeted(pairs, lambda pair: len(cel_string(pair[0])) + len(pair[1]) + 9, EXPRESSION_BUDGET)
    if len(chunks) == 1:
        return [{"name": name, "expression": cel_map(chunks[0])}]
    return [{"name": f"{name}_{index}", "expression": cel_map(chunk)} for index, chunk in enumerate(chunks, 1)]


def within(value: str, variables: Sequence[dict[str, str]]) -> str:
    """CEL: `value` is a key of one of the maps `map_variables` gave."""
    tests = [f"{value} in variables.{variable['name']}" for variable in variables]
    return tests[0] if len(tests) == 1 else "(" + " || ".join(tests) + ")"


def looked_up(value: str, variables: Sequence[dict[str, str]], default: str) -> str:
    """CEL: what the maps `map_variables` gave hold for `value`, `default` when none has it."""
    found = default
    for variable in reversed(variables):
        found = f"({value} in variables.{variable['name']} ? variables.{variable['name']}[{value}] : {found})"
    return found


def validating_policy(
    name: str, group: str, resources: list[str], operations: list[str], variables: list[dict[str, str]],
    rules: list[dict[str, str]], match_conditions: list[dict[str, str]] | None = None,
    api_versions: Sequence[str] = ("*",),
) -> dict[str, Any]:
    """A ValidatingAdmissionPolicy (`failurePolicy: Fail`) on `resources` of API group `group` (in
    `api_versions`), for `operations`, seeing only requests that meet `match_conditions` (all of them when None)."""
    spec: dict[str, Any] = {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [{"apiGroups": [group], "apiVersions": list(api_versions), "operations": operations,
                               "resources": resources}]
        },
    }
    if match_conditions is not None:
        spec["matchConditions"] = match_conditions
    spec["variables"] = variables
    spec["validations"] = rules
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "labels": dict(MANAGED_BY)},
        "spec": spec,
    }


def admission_binding(policy: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The binding that applies `policy` to the profile's namespace only, denying violations."""
    name = policy["metadata"]["name"]
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": dict(MANAGED_BY)},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
            },
        },
    }
