"""What every renderer receives: the validated catalog and the build's options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.models import Catalog
from generator.release.diff import ReleaseDiff


@dataclass(frozen=True)
class RenderContext:
    """The catalog to render and the options that change how (never what) it is rendered."""

    catalog: Catalog
    templates: Path | None = None
    """A folder whose files override the shipped templates of the same name."""
    image_mirror: str | None = None
    """HOST[/PREFIX] overriding catalog.yaml's `image_mirror` for every emitted image reference."""
    changes: ReleaseDiff | None = None
    """What changed since the previous release (`build --previous`), for the site's changes page."""
