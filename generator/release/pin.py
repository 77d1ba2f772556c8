"""`mcp-catalog pin --digests FILE`: record image digests in the catalog source.

Reads `<digest> docker://<image>` lines, what `skopeo sync --digestfile` writes and what the
runbook's `skopeo copy` loop appends, and also accepts `<image>@<digest>` and `<image> <digest>`
lines (e.g. collected from `skopeo inspect`), with or without skopeo's `docker://` prefix.
An image in the file matches a server when it is the same image (registry, path and tag), or
its copy at the catalog's `image_mirror` (the mirror's host and prefix, then the upstream
path), so digests recorded while pushing to the internal mirror pin the upstream entries too.
The ToolHive images named under catalog.yaml's `toolhive.images` are pinned the same way
(`image@digest` on their line). Files are edited line by line: comments and layout survive.

Every edit is made in memory first and each edited file validated as it would be (the line edits
assume `image:` and `digest:` each on one line: a file laid out otherwise stays as it was);
`importers.write.put_in_place` then writes the edited files all or none, as `import` does (a
temporary beside each file, renamed into place once every one is written), so a full disk or a
kill never leaves a source file cut short.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from generator.derived import ImageParts, image_parts, toolhive_images
from generator.errors import CatalogError, SourceInvalid
from generator.importers.write import PIN, NewFile, put_in_place
from generator.models import DIGEST, IMAGE_REF, CatalogMeta, Server
from generator.source.load import problems_with_bytes
from generator.source.validate import read_catalog
from generator.source.yamlsafe import load_mapping


@dataclass
class PinReport:
    """What `pin` changed."""

    pinned: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    hint: str = ""
    """What to do about the unmatched digests (empty when every digest matched)."""
    removed_leftovers: list[Path] = field(default_factory=list)
    """The temporaries an interrupted import or pin had left, removed before writing."""


def read_digest_file(path: Path) -> list[tuple[str, str]]:
    """(image reference without digest, digest) pairs; raise listing every malformed line."""
    pairs, problems = [], []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CatalogError(f"{path}: not a text file of digests (not UTF-8)") from None
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if not tokens or line.lstrip().startswith("#"):
            continue
        pair = _parse_line(tokens)
        if pair is None:
            problems.append(f"{path}:{number}: expected '<digest> [docker://]<image>' or '<image>@<digest>'")
        else:
            pairs.append(pair)
    if problems:
        raise CatalogError("\n".join(problems))
    return pairs


def _parse_line(tokens: list[str]) -> tuple[str, str] | None:
    tokens = [token.removeprefix("docker://") for token in tokens]
    if len(tokens) == 1 and "@" in tokens[0]:
        image, _, digest = tokens[0].partition("@")
    elif len(tokens) == 2:
        digest, image = tokens if re.fullmatch(DIGEST, tokens[0]) else (tokens[1], tokens[0])
        image = image.split("@")[0]
    else:
        return None
    if not re.fullmatch(DIGEST, digest) or not IMAGE_REF.fullmatch(image):
        return None
    return image, digest


def pin_digests(source_dir: Path, digest_file: Path, mirror: str | None = None) -> PinReport:
    """Write each matching digest into its server file; `mirror` overrides catalog.yaml's image_mirror."""
    pairs = read_digest_file(digest_file)
    if not pairs:
        raise CatalogError(f"{digest_file}: no digests in it: did the copy stop at its first image?")
    catalog = read_catalog(source_dir).catalog
    report = PinReport()
    matched: set[int] = set()
    edited: dict[Path, bytes] = {}
    mirror = mirror or catalog.meta.image_mirror
    for server in catalog.servers:
        if server.image is None:
            continue
        wanted = image_parts(server.image)
        for index, (image, digest) in enumerate(pairs):
            if _same_image(image_parts(image), wanted, mirror):
                matched.add(index)
                if server.digest == digest:
                    report.unchanged.append(server.name)
                else:
                    path = _written_file(source_dir / "servers" / f"{server.name}.yaml")
                    edited[path] = _with_digest(path.read_bytes(), digest)
                    report.pinned.append(server.name)
                break
    catalog_file = _written_file(source_dir / "catalog.yaml")
    matched |= _pin_toolhive(catalog_file, catalog.meta, pairs, mirror, report, edited)
    report.unmatched = [f"{image}@{digest}" for i, (image, digest) in enumerate(pairs) if i not in matched]
    upstream = [s.image for s in catalog.servers if s.image] + list(toolhive_images(catalog.meta).values())
    report.hint = _mirror_hint([image for i, (image, _) in enumerate(pairs) if i not in matched], upstream, mirror)
    if not matched:
        raise CatalogError(f"{digest_file}: none of its {len(pairs)} digests names an image of the catalog in "
                           f"{source_dir}: {report.hint}")
    # catalog.yaml first: a file that cannot be replaced (immutable) then fails the first rename, which
    # leaves everything as it was. Any other mixture of old and new files is a valid source too.
    problems = [problem for path, content in edited.items()
                for problem in problems_with_bytes(_shown(source_dir, path), content, CatalogMeta if path == catalog_file else Server)]
    if problems:
        raise SourceInvalid(problems, f"nothing pinned: {len(problems)} error(s) in the files as pinning would leave "
                                      f"them (pin edits `image:` and `digest:` lines): write the digest by hand")
    order = sorted(edited, key=lambda path: path != catalog_file)
    report.removed_leftovers = put_in_place(source_dir, [NewFile(path, edited[path]) for path in order], PIN)
    read_catalog(source_dir)  # the edited source as a whole (its files were checked one by one above)
    return report


def _shown(source_dir: Path, path: Path) -> Path:
    """An edited file (a link's target, resolved) as the source's messages name it."""
    root = source_dir.resolve()
    return source_dir / path.relative_to(root) if path.is_relative_to(root) else path


def _written_file(path: Path) -> Path:
    """The file an edit of `path` goes into: a symbolic link's target (inside the source, as the loader
    requires), which writing through the link changed before; the link stays."""
    return path.resolve() if path.is_symlink() else path


def _mirror_hint(unmatched: list[str], upstream: list[str], mirror: str | None) -> str:
    """What to do about digests of images pin did not recognise: the mirror they were recorded at
    when their paths say it (an upstream image's path and tag under another HOST[/PREFIX])."""
    if not unmatched:
        return ""
    found, flattened = set(), False
    for image in unmatched:
        parts = image_parts(image)
        for wanted in map(image_parts, upstream):
            if parts.tag != wanted.tag or (parts.registry, parts.path) == (wanted.registry, wanted.path):
                continue
            if parts.path == wanted.path:
                found.add(parts.registry)
            elif parts.path.endswith(f"/{wanted.path}"):
                found.add(f"{parts.registry}/{parts.path.removesuffix(f'/{wanted.path}')}")
            elif parts.path.rpartition("/")[2] == wanted.path.rpartition("/")[2]:
                flattened = True
    at = f" or at the mirror {mirror}" if mirror else ""
    if found:
        return (f"they name the catalog's images at {', '.join(sorted(found))}, not at their upstream registry{at}: "
                f"pass --image-mirror {sorted(found)[0]} (the mirror given to build)")
    advice = (" Names that keep only the last path component are what `skopeo sync` without --scoped pushes: "
              "the manifests do not pull those, copy with the runbook's skopeo copy loop instead.") if flattened else ""
    return (f"they name no image of the catalog at its upstream registry{at}. Digests recorded at a mirror name each "
            "image at HOST[/PREFIX]/<upstream path>:<tag>, where the runbook's skopeo copy loop puts it: pass "
            f"--image-mirror HOST[/PREFIX] as given to build, or set image_mirror in catalog.yaml.{advice}")


def _pin_toolhive(
    path: Path, meta: CatalogMeta, pairs: list[tuple[str, str]], mirror: str | None, report: PinReport,
    edited: dict[Path, bytes],
) -> set[int]:
    """Pin the ToolHive images catalog.yaml names under `toolhive.images` (a default is not on any
    line to edit: name the image there to pin it), catalog.yaml's (`path`) new content into `edited`.
    Returns the indexes of the pairs used."""
    raw = path.read_bytes()
    lines = load_mapping(raw, track_lines=True).lines
    matched: set[int] = set()
    for role, reference in toolhive_images(meta).items():
        line = lines.get(("toolhive", "images", role))
        if line is None:
            continue
        image, _, current = reference.partition("@")
        for index, (found, digest) in enumerate(pairs):
            if _same_image(image_parts(found), image_parts(image), mirror):
                matched.add(index)
                label = f"toolhive.images.{role}"
                if current == digest:
                    report.unchanged.append(label)
                else:
                    raw = _replace_value(raw, line, f"{image}@{digest}")
                    edited[path] = raw
                    report.pinned.append(label)
                break
    return matched


def _replace_value(raw: bytes, line: int, value: str) -> bytes:
    """`raw` with the scalar value on `line` (1-based) of a `key: value` line replaced, keeping indent and key."""
    text = raw.decode("utf-8").splitlines(keepends=True)
    key, _, _ = text[line - 1].partition(":")
    text[line - 1] = f"{key}: {value}\n"
    return "".join(text).encode("utf-8")


def _same_image(found: ImageParts, wanted: ImageParts, mirror: str | None) -> bool:
    """The upstream image itself, or its copy at the catalog's mirror (HOST[/PREFIX] + upstream path)."""
    if found.tag != wanted.tag:
        return False
    if (found.registry, found.path) == (wanted.registry, wanted.path):
        return True
    if mirror is None:
        return False
    host, _, prefix = mirror.partition("/")
    return found.registry == host and found.path == "/".join(p for p in (prefix, wanted.path) if p)


def _with_digest(raw: bytes, digest: str) -> bytes:
    """A server file's bytes with its `digest:` line set to `digest` (added after `image:` when missing)."""
    lines = load_mapping(raw, track_lines=True).lines
    text = raw.decode("utf-8").splitlines(keepends=True)
    if ("digest",) in lines:
        number = lines[("digest",)] - 1
        text[number] = f"digest: {digest}\n"
    else:
        number = lines[("image",)]
        if not text[number - 1].endswith(("\n", "\r")):  # the file's last line: no line break to follow
            text[number - 1] += "\n"
        text.insert(number, f"digest: {digest}\n")
    return "".join(text).encode("utf-8")
