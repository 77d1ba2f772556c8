"""What an output kind is: files per server, files for the whole catalog, and the fragments between them.

Every renderer is split in two. `per_server(context, server)` yields the files that
belong to one server (its page, its API export, its bundle folders) and sees a
catalog holding that server alone, so those files cannot depend on any other server:
that is what lets the build cache re-render only the servers that changed.
`catalog_wide(context)` yields the lists, indexes and archives that span servers.

A catalog-wide file often repeats per-server material (a registry document holds
every server's entry, a profile tarball every server's manifests). The per-server
half computes that material once, encoded, as a `Fragment`; the catalog-wide half
splices the fragments through `RenderContext.fragment`, which computes a missing one
with the very same function. A cached build reuses the fragments of unchanged
servers, so it writes the same bytes as a cold build.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from generator.models import Server
from generator.output import OutputFile
from generator.render.context import FragmentKey, RenderContext


@dataclass(frozen=True)
class Fragment:
    """Encoded per-server material that a catalog-wide file splices in (never written as a file)."""

    key: str
    content: bytes


@dataclass(frozen=True)
class Deferred:
    """A catalog-wide file the build makes only when its inputs changed (see generator.render.inputs).

    `key` hashes everything `make()` reads; None means "no key, always make it".
    """

    path: str
    key: str | None
    make: Callable[[], bytes]

    def made(self) -> OutputFile:
        """The file itself."""
        return OutputFile(self.path, self.make())


PerServer = Callable[[RenderContext, Server], Iterable[OutputFile | Fragment]]
CatalogWide = Callable[[RenderContext], Iterable[OutputFile | Fragment | Deferred]]
"""A catalog-wide half may yield fragments too (material worth remembering for the next
build) and deferred files (lists whose inputs a rebuild may find unchanged)."""


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
    fragments: dict[FragmentKey, bytes] = dict(context.fragments)
    if kind.per_server is not None:
        for server in context.catalog.servers:
            for item in kind.per_server(context.for_server(server), server):
                if isinstance(item, Fragment):
                    fragments[(server.name, item.key)] = item.content
                else:
                    yield item
    for item in kind.catalog_wide(replace(context, fragments=fragments)):
        if isinstance(item, Deferred):
            yield item.made()
        elif not isinstance(item, Fragment):
            yield item
