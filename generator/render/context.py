"""What every renderer receives: the validated catalog, the build's options and the memo of pieces."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from dataclasses import dataclass, field, replace
from pathlib import Path

from generator.models import Catalog, Server
from generator.release.diff_report import ReleaseDiff
from generator.render.memo import InMemory, Memo

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
    memo: Memo = field(default_factory=InMemory, compare=False, repr=False)
    """Where `@per_server` pieces are looked up (see generator.render.memo); the build's is backed by its store."""
    server_keys: Mapping[str, str] = field(default_factory=dict)
    """Each server's input hash (`generator.incremental.cache.server_key`), for the input keys of deferred
    catalog-wide files; without them every such file is made."""
    compiled_templates: Path | None = None
    """Where Jinja keeps the templates it compiled, between builds (in the build cache); None: compile anew."""
    shared: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Objects costly to make and the same for every page of one build (the Jinja environment),
    made on first use; narrowed contexts share this dict."""

    def for_server(self, server: Server) -> RenderContext:
        """This context narrowed to a catalog holding `server` alone (what a per-server renderer sees).

        It keeps the memo: a piece is a function of its server alone, whoever asks for it."""
        overviews = {server.name: self.catalog.overviews[server.name]} if server.name in self.catalog.overviews else {}
        alone = Catalog.model_construct(meta=self.catalog.meta, servers=(server,), overviews=overviews)
        return replace(self, catalog=alone, server_keys={})
