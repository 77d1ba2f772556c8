"""`files.txt`: the path of every file of the output, one a line, so that `wget -i` copies the whole site.

An index, like api/v1/index.json: it runs after every renderer, from their written-file records,
and renders nothing. No HTML page links every file (bundle YAML, query indexes, mirror lists are
read by tools, not people), so a crawl from the site's pages cannot find them all; this list can.
It holds paths alone, the least a list wget reads can hold: sizes and digests are in
api/v1/index.json (the API documents) and in a release's SIZES and SHA256SUMS (every file).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from generator import paths
from generator.output import OutputFile, WrittenFile
from generator.render.context import RenderContext

# What a URL path carries as it is: wget resolves each line against --base unencoded. Every path is
# made of validated names (see generator.paths), so this holds for any catalog that validates.
_URL_PATH = re.compile(r"[A-Za-z0-9._~+-]+(/[A-Za-z0-9._~+-]+)*")


def render_file_list(context: RenderContext, written: Mapping[str, WrittenFile]) -> Iterator[OutputFile]:
    """Yield `files.txt`: every path in `written` and its own, sorted (as `LC_ALL=C sort` sorts them)."""
    listed = sorted({*written, paths.FILE_LIST})
    for path in listed:
        if not _URL_PATH.fullmatch(path):
            raise ValueError(f"not a path a URL carries as it is: {path!r}")
    yield OutputFile(paths.FILE_LIST, "".join(f"{path}\n" for path in listed).encode("ascii"))
