"""CEL as the API server evaluates it, for the tests of what our policies and the CRDs' rules decide.

The engine is cel-cpp, the CEL authors' C++ implementation (PyPI `cel-expr-python`), with its
extended strings library: Kubernetes gives every policy and CRD rule cel-go's equivalent library
(`substring`, `join`, `split`, ...), so nothing here is emulated. Values cross as plain JSON-like
Python values (dict, list, str, int, float, bool, None), the shapes an object has when the API
server has decoded it. An expression that fails to evaluate gives `Failed`, never an exception:
the API server turns such a failure into a refusal (`failurePolicy: Fail`), and a test decides
whether one was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_strings

# What a ValidatingAdmissionPolicy's expressions may name (request, object, oldObject, variables;
# params, namespaceObject and authorizer are never set by our policies) and a CRD rule's `self`/`oldSelf`.
NAMES = ("request", "object", "oldObject", "variables", "params", "namespaceObject", "self", "oldSelf")
_ENVIRONMENT = cel.NewEnv(variables={name: cel.Type.DYN for name in NAMES}, extensions=[ext_strings.ExtStrings()])
_PROGRAMS: dict[str, Any] = {}


@dataclass(frozen=True)
class Failed:
    """An expression that did not give a value: why, in the engine's words."""

    why: str


def compile_once(expression: str) -> Any:
    """The compiled expression; RuntimeError when it does not parse or type-check (among the parser's
    limits: at most 100,000 code points, cel-go's default, which the API server keeps)."""
    if expression not in _PROGRAMS:
        _PROGRAMS[expression] = _ENVIRONMENT.compile(expression)
    return _PROGRAMS[expression]


def evaluate(expression: str, activation: dict[str, Any]) -> Any:
    """The value of `expression` for the names in `activation` (compiled once: the policies' literals are large).

    Raises RuntimeError when the expression does not compile (a policy the API server would refuse).
    """
    value = compile_once(expression).eval(data=activation)
    if value.type() == cel.Type.ERROR:
        return Failed(str(value.value()))
    return value.plain_value()
