"""`mcp-catalog pin --digests FILE`: record image digests in the catalog source.

Reads `<digest> docker://<image>` lines, what `skopeo sync --digestfile` writes and what the
runbook's `skopeo copy` loop appends, and also accepts `<image>@<digest>` and `<image> <digest>`
lines (e.g. collected from `skopeo inspect`), with or without skopeo's `docker://` prefix.
An image in the file matches a server when it is the same image (registry, path and tag), or
its copy at the catalog's `image_mirror` (the mirror's host and prefix, then the upstream
path), so digests recorded while pushing to the internal mirror pin the upstream entries too.
The ToolHive images named under catalog.yaml's `toolhive.images` are pinned the same way
(`image@digest` on their line). Files are edited line by line: comments and layout survive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from generator.derived import ImageParts, image_parts, toolhive_images
from generator.errors import CatalogError
from generator.models import DIGEST, IMAGE_REF, CatalogMeta
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
                    _write_digest(source_dir / "servers" / f"{server.name}.yaml", digest)
                    report.pinned.append(server.name)
                break
    matched |= _pin_toolhive(source_dir, catalog.meta, pairs, mirror, report)
    report.unmatched = [f"{image}@{digest}" for i, (image, digest) in enumerate(pairs) if i not in matched]
    upstream = [s.image for s in catalog.servers if s.image] + list(toolhive_images(catalog.meta).values())
    report.hint = _mirror_hint([image for i, (image, _) in enumerate(pairs) if i not in matched], upstream, mirror)
    if not matched:
        raise CatalogError(f"{digest_file}: none of its {len(pairs)} digests names an image of the catalog in "
                           f"{source_dir}: {report.hint}")
    read_catalog(source_dir)  # the edited source must still validate
    return report


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
    source_dir: Path, meta: CatalogMeta, pairs: list[tuple[str, str]], mirror: str | None, report: PinReport
) -> set[int]:
    """Pin the ToolHive images catalog.yaml names under `toolhive.images` (a default is not on any
    line to edit: name the image there to pin it). Returns the indexes of the pairs used."""
    path = source_dir / "catalog.yaml"
    lines = load_mapping(path.read_bytes(), track_lines=True).lines
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
                    _replace_value(path, line, f"{image}@{digest}")
                    report.pinned.append(label)
                break
    return matched


def _replace_value(path: Path, line: int, value: str) -> None:
    """Replace the scalar value on `line` (1-based) of a `key: value` line, keeping indent and key."""
    text = path.read_text(encoding="utf-8").splitlines(keepends=True)
    key, _, _ = text[line - 1].partition(":")
    text[line - 1] = f"{key}: {value}\n"
    path.write_text("".join(text), encoding="utf-8")


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


def _write_digest(path: Path, digest: str) -> None:
    raw = path.read_bytes()
    lines = load_mapping(raw, track_lines=True).lines
    text = raw.decode("utf-8").splitlines(keepends=True)
    if ("digest",) in lines:
        number = lines[("digest",)] - 1
        text[number] = f"digest: {digest}\n"
    else:
        number = lines[("image",)]
        text.insert(number, f"digest: {digest}\n")
    path.write_text("".join(text), encoding="utf-8")
