"""What an output kind is: files per server and files for the whole catalog.

Every renderer is split in two. `per_server(context, server)` yields the files that
belong to one server (its page, its API export, its bundle folders) and sees a
catalog holding that server alone, so those files cannot depend on any other server:
that is what lets the build cache re-render only the servers that changed.
`catalog_wide(context)` yields the lists, indexes and archives that span servers.
Per-server material that a catalog-wide file repeats is a `@per_server` piece
(`generator.render.memo`) that both halves call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from generator.models import Server
from generator.output import OutputFile
from generator.render.context import RenderContext


PROGRAM_ONLY = "program only"
"""The input key of a file made from this program alone (the build key covers it)."""


@dataclass(frozen=True)
class Deferred:
    """A catalog-wide file the build makes only when its inputs changed (see generator.render.inputs).

    `key` hashes everything `make()` reads; None means "no key, always make it". What the build
    key covers (this program, the templates, catalog.yaml, the options) need not be in it: a file
    made from the program alone (a JSON Schema) has the key `PROGRAM_ONLY`.
    """

    path: str
    key: str | None
    make: Callable[[], bytes]

    def made(self) -> OutputFile:
        """The file itself."""
        return OutputFile(self.path, self.make())


PerServer = Callable[[RenderContext, Server], Iterable[OutputFile]]
CatalogWide = Callable[[RenderContext], Iterable[OutputFile | Deferred]]


@dataclass(frozen=True)
class OutputKind:
    """One kind of output: its name (for timings), its per-server half and its catalog-wide half."""

    name: str
    catalog_wide: CatalogWide
    per_server: PerServer | None = None
    catalog_parts: Callable[[RenderContext], Sequence[CatalogWide]] | None = None
    """The catalog-wide half cut into independent parts (the bundles: one per registry profile)
    that the build may run in different workers; in order, they yield what `catalog_wide` yields."""


def render_kind(kind: OutputKind, context: RenderContext) -> Iterator[OutputFile]:
    """Every file of `kind`, per-server halves first: what a build writes for it (used by tests)."""
    if kind.per_server is not None:
        for server in context.catalog.servers:
            yield from kind.per_server(context.for_server(server), server)
    for item in kind.catalog_wide(context):
        yield item.made() if isinstance(item, Deferred) else item
