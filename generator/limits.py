"""What the outputs can carry, measured by the renderers' own functions and placed on the source's lines.

A server's registry `_meta` larger than the registry server's `maxMetaSize`, or a registry
profile whose admission policies the API server could not parse or store, is a problem of the
source, reported with every other one. `validate` measures every limit here, calling the very
functions the renderers use (`server_json.meta_size_problem`, `bundles.admission_problems`), on the
catalog and image mirror a build renders. `build` does not measure a clean source here: its
renderers meet the same limits on the pieces they make anyway (`errors.LimitExceeded`), and only
then does the build measure here, for the report (see `generator.build`). The source package knows
no renderer: `read_catalog` takes this check as an argument.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.diagnostics import Diagnostic, dotted_path
from generator.models import Catalog, CatalogMeta
from generator.render.context import RenderContext
from generator.render.kubernetes.bundles import admission_problems
from generator.render.memo import Unkept
from generator.render.registry.server_json import meta_size_problem
from generator.source.load import SourceTree


def output_limits(tree: SourceTree, meta: CatalogMeta, *, image_mirror: str | None = None) -> Iterator[Diagnostic]:
    """Every server whose `_meta` is too large (on its `tools`) and every profile whose admission
    policies are (on its entry in catalog.yaml); `image_mirror` is the build's `--image-mirror`
    (it lengthens every image reference the outputs carry)."""
    lines = tree.meta_yaml
    assert lines is not None
    # A server file with errors of its own is left out: its values may be ones the renderers cannot
    # encode (a date in an input schema, reported as such), and its size is moot until it is fixed.
    faulty = {diagnostic.path for diagnostic in tree.diagnostics if diagnostic.severity == "error"}
    servers = sorted((source for source in tree.servers if source.path not in faulty), key=lambda source: source.server.name)
    catalog = Catalog.model_construct(
        meta=meta, servers=tuple(source.server for source in servers),
        overviews={source.server.name: source.overview for source in servers if source.overview},
    )
    context = RenderContext(catalog, image_mirror=image_mirror, memo=Unkept())  # each piece is asked for once
    for source in servers:
        problem = meta_size_problem(context, source.server)
        if problem is not None:
            yield Diagnostic(source.path, source.yaml.line_of(("tools",)), "tools", problem)
    for index, profile in enumerate(meta.registries):
        where = ("registries", index)
        for problem in admission_problems(context, profile):
            yield Diagnostic(tree.meta_path, lines.line_of(where), dotted_path(where), problem)
