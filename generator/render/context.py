"""What every renderer receives: the validated catalog, the build's options and shared fragments."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal
from dataclasses import dataclass, field, replace
from pathlib import Path

from generator.incremental.store import FragmentView
from generator.models import Catalog, Server
from generator.release.diff import ReleaseDiff

FragmentKey = tuple[str, str]
"""(server name, fragment key) of an encoded piece of per-server material; server "" for
material a catalog-wide half remembers for the next build (compressed archive chunks)."""

Hosting = Literal["query-layer", "plain"]
QUERY_LAYER: Hosting = "query-layer"
"""Served by the shipped nginx or Apache configuration, whose query layer answers a lookup whose
document is the same bytes as another's from that one file (`latest`, a profile's copy of the root's)."""
PLAIN: Hosting = "plain"
"""Served by a plain file server (object storage, `python -m http.server`): every document is a file."""
HOSTING_MODES: tuple[Hosting, ...] = (QUERY_LAYER, PLAIN)


@dataclass(frozen=True)
class RenderContext:
    """The catalog to render and the options that change how (never what) it is rendered."""

    catalog: Catalog
    templates: Path | None = None
    """A folder whose files override the shipped templates of the same name."""
    image_mirror: str | None = None
    """HOST[/PREFIX] overriding catalog.yaml's `image_mirror` for every emitted image reference."""
    hosting: Hosting = QUERY_LAYER
    """What will serve the site: it decides which byte-identical duplicate documents are written."""
    changes: ReleaseDiff | None = None
    """What changed since the previous release (`build --previous`), for the site's changes page."""
    fragments: Mapping[FragmentKey, bytes] = field(default_factory=dict)
    """Per-server material the per-server renderers already encoded (see generator.render.kind)."""
    server_keys: Mapping[str, str] = field(default_factory=dict)
    """Each server's input hash (`generator.incremental.cache.server_key`), for the input keys of deferred
    catalog-wide files; without them every such file is made."""
    shared: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Objects costly to make and the same for every page of one build (the Jinja environment),
    made on first use; narrowed contexts share this dict."""

    def for_server(self, server: Server) -> RenderContext:
        """This context narrowed to a catalog holding `server` alone (what a per-server renderer sees)."""
        overviews = {server.name: self.catalog.overviews[server.name]} if server.name in self.catalog.overviews else {}
        alone = Catalog.model_construct(meta=self.catalog.meta, servers=(server,), overviews=overviews)
        return replace(self, catalog=alone, fragments={}, server_keys={})

    def catalog_fragment(self, key: str) -> bytes | None:
        """What a catalog-wide half remembered under `key` in the last build, if anything."""
        return self.fragments.get(("", key))

    def fragment(self, server: Server, key: str, compute: Callable[[], bytes]) -> bytes:
        """The fragment `key` of `server`: the one its per-server renderer made, else `compute()`."""
        found = self.fragments.get((server.name, key))
        return compute() if found is None else found

    def fragment_size(self, server: Server, key: str, compute: Callable[[], bytes]) -> int:
        """`len(self.fragment(server, key, compute))`, without reading a fragment the store holds."""
        if isinstance(self.fragments, FragmentView):
            size = self.fragments.size_of((server.name, key))
            if size is not None:
                return size
        return len(self.fragment(server, key, compute))
