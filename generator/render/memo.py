"""One memo for per-server pieces: what a renderer computes once per server and splices elsewhere.

A catalog-wide file often repeats per-server material (a registry document holds every
server's entry, a profile's admission policy every server's shape). Such a piece is made by one
function `(context, server, *args) -> bytes` marked `@per_server`; whoever needs it (the
per-server half that writes the server's own files, any catalog-wide half, another kind)
calls that function, and the call is looked up in the memo the build puts in the context:
by the server, the function's name and the positional arguments. The memo answers from
what this build or the last one stored (see `generator.incremental.memo`), else the
function runs and its result is kept. A server's pieces are only reused while its input
key is unchanged, so a cached call gives the bytes a cold call gives.

Keyword arguments are not part of the key: they are inputs the caller already holds
(the files a per-server half just made) and must not change the result, only spare making
them again. Positional arguments must be `str` or None (a profile's name, a variant).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from generator.render.encoding import Lazy

if TYPE_CHECKING:
    from generator.models import Server
    from generator.render.context import RenderContext


class Memo(Protocol):
    """Where pieces are looked up: owner (a server's name) and name."""

    def piece(self, owner: str, name: str, make: Callable[[], bytes]) -> bytes: ...

    def size(self, owner: str, name: str, make: Callable[[], bytes]) -> int: ...


class InMemory:
    """A memo holding its pieces in a dict: for renders outside a build (tests, `render_kind`)."""

    def __init__(self) -> None:
        self._pieces: dict[tuple[str, str], bytes] = {}

    def piece(self, owner: str, name: str, make: Callable[[], bytes]) -> bytes:
        found = self._pieces.get((owner, name))
        if found is None:
            found = self._pieces[(owner, name)] = make()
        return found

    def size(self, owner: str, name: str, make: Callable[[], bytes]) -> int:
        return len(self.piece(owner, name, make))


class Unkept:
    """A memo keeping nothing: for a pass asking each piece once (`validate` measuring the limits,
    where keeping every server's pieces would double its memory)."""

    def piece(self, owner: str, name: str, make: Callable[[], bytes]) -> bytes:
        return make()

    def size(self, owner: str, name: str, make: Callable[[], bytes]) -> int:
        return len(make())


PerServerPiece = Callable[..., bytes]
_NAMES: dict[str, str] = {}  # piece name -> the function's qualified name: two functions must not share one


class Piece(Protocol):
    """What `@per_server` makes of a function: called like it, or `lazy` (read later, measured without reading)."""

    __name__: str

    def __call__(self, context: RenderContext, server: Server, *args: str | None, **at_hand: Any) -> bytes: ...

    def lazy(self, context: RenderContext, server: Server, *args: str | None) -> Lazy: ...


def per_server(function: PerServerPiece) -> Piece:
    """Memoise `function(context, server, *args)` in `context.memo` (see the module docstring)."""
    name = function.__name__
    qualified = f"{function.__module__}.{function.__qualname__}"
    if _NAMES.setdefault(name, qualified) != qualified:
        raise ValueError(f"two per-server pieces are named {name}: {_NAMES[name]} and {qualified}")

    # Omitted arguments count as their defaults: f(c, s) and f(c, s, None) are one call.
    defaults = tuple(
        parameter.default for parameter in list(inspect.signature(function).parameters.values())[2:]
        if parameter.kind == parameter.POSITIONAL_OR_KEYWORD
    )

    def key(args: tuple[str | None, ...]) -> str:
        args += defaults[len(args):]
        if not all(arg is None or isinstance(arg, str) for arg in args):
            raise TypeError(f"{name}: per-server pieces take str or None arguments, got {args!r}")
        return ":".join((name, *("" if arg is None else arg for arg in args)))

    @functools.wraps(function)
    def memoised(context: RenderContext, server: Server, *args: str | None, **at_hand: Any) -> bytes:
        return context.memo.piece(server.name, key(args), lambda: function(context, server, *args, **at_hand))

    def size(context: RenderContext, server: Server, *args: str | None) -> int:
        return context.memo.size(server.name, key(args), lambda: function(context, server, *args))

    memoised.lazy = lambda context, server, *args: Lazy(  # type: ignore[attr-defined]
        functools.partial(memoised, context, server, *args), functools.partial(size, context, server, *args)
    )
    return memoised  # type: ignore[return-value]
