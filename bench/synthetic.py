"""Generate a synthetic catalog source of N servers, seeded and deterministic.

Shapes follow real entries: 1-40 tools with descriptions and annotations, a
300-800 word overview, env vars with secrets, network permissions, a mix of
container and remote servers and of tiers, 30 categories and 500 tags.

    python bench/synthetic.py OUT_DIR N [--seed S] [--default-profiles]

With --default-profiles the registry profiles are those of catalog-source/catalog.yaml (issue 14's
files-per-server target is set with them: a production profile of approved, validated servers with
destructive tools withheld, and a sandbox for current and legacy operators), and about two thirds
of the servers carry an approved review.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

DEFAULT_CATALOG = Path(__file__).resolve().parent.parent / "catalog-source" / "catalog.yaml"

WORDS = (
    "query fetch index search repository cluster metric trace secret token policy deploy image "
    "registry namespace service network storage document issue ticket build pipeline release audit "
    "vulnerability package schema table stream event alert dashboard tenant workspace project"
).split()
CATEGORIES = [f"category-{i:02d}" for i in range(30)]
TAGS = [f"tag-{i:03d}" for i in range(500)]


def catalog_yaml(default_profiles: bool = False) -> str:
    """catalog.yaml declaring the 30 categories and two profiles (the default catalog's, or two plain ones)."""
    lines = [
        "title: Synthetic catalog",
        "description: Generated for benchmarks.",
        "version: 1.0.0",
        "namespace: com.example.bench",
        "last_updated: 2026-11-01T00:00:00Z",
        "categories:",
    ]
    lines += [f"  - slug: {slug}\n    title: Category {slug[-2:]}" for slug in CATEGORIES]
    if default_profiles:
        return "\n".join(lines) + "\n" + default_registries()
    lines += [
        "registries:",
        "  - name: production\n    namespace: mcp-production\n    include:\n      tiers: [validated]",
        "  - name: sandbox\n    namespace: mcp-sandbox",
    ]
    return "\n".join(lines) + "\n"


def default_registries() -> str:
    """The `registries:` block of the default catalog, as written there."""
    found = re.search(r"^registries:\n(?:[ #].*\n|\n)*", DEFAULT_CATALOG.read_text(encoding="utf-8"), re.MULTILINE)
    assert found, DEFAULT_CATALOG
    return found.group()


def server_yaml(rng: random.Random, index: int, reviewed: bool = False) -> tuple[str, str]:
    """One server file and its overview; `reviewed`: with a review, approved for about two thirds."""
    name = f"server-{index:06d}"
    remote = rng.random() < 0.25
    transport = "streamable-http" if remote or rng.random() < 0.5 else "stdio"
    lines = [
        f"name: {name}",
        f"title: Server {index}",
        f"description: {' '.join(rng.choices(WORDS, k=8)).capitalize()}.",
        f'version: "1.{index % 7}.{index % 11}"',
        f"category: {rng.choice(CATEGORIES)}",
        f"tags: [{', '.join(sorted(set(rng.choices(TAGS, k=rng.randint(2, 6)))))}]",
        f"tier: {rng.choice(['validated', 'community'])}",
        f"transport: {transport}",
        f"repository: https://git.example.com/mcp/{name}",
        "license: Apache-2.0",
    ]
    if remote:
        lines += [f"remote:\n  url: https://{name}.mcp.example.com/mcp"]
    else:
        lines += [f"image: registry.example.com/mcp/{name}:1.{index % 7}.0", f"digest: sha256:{index:064x}"]
        if transport != "stdio":
            lines.append("port: 8080")
        lines += [
            "permissions:",
            "  network:",
            "    outbound:",
            f"      allow_host: [api.{name}.example.com]",
            "      allow_port: [443]",
        ]
    lines.append("env:")
    for number in range(rng.randint(0, 4)):
        lines += [f"  - name: VAR_{number}", f"    description: {' '.join(rng.choices(WORDS, k=6))}",
                  f"    secret: {'true' if number == 0 else 'false'}"]
    if lines[-1] == "env:":
        lines[-1] = "env: []"
    lines.append("tools:")
    for number in range(rng.randint(1, 40)):
        verb = rng.choice(["get", "list", "create", "delete", "update", "search"])
        lines += [
            f"  - name: {verb}_{rng.choice(WORDS)}_{number}",
            f"    description: {' '.join(rng.choices(WORDS, k=12)).capitalize()}.",
            "    annotations:",
            f"      readOnlyHint: {'true' if verb in ('get', 'list', 'search') else 'false'}",
            f"      destructiveHint: {'true' if verb == 'delete' else 'false'}",
        ]
    if reviewed:
        approved = rng.random() < 2 / 3
        lines += ["review:", f"  status: {'approved' if approved else 'under-review'}"]
        lines += ["  by: Benchmark Board", "  date: 2026-10-01", "  expires: 2027-10-01"] if approved else []
    overview = "\n\n".join(
        f"## Part {part}\n\n" + " ".join(rng.choices(WORDS, k=rng.randint(60, 160))) for part in range(5)
    )
    return "\n".join(lines) + "\n", overview + "\n"


def write_catalog(out: Path, count: int, seed: int = 1, default_profiles: bool = False) -> Path:
    """Write a source folder with `count` servers into `out` and return it."""
    rng = random.Random(seed)
    (out / "servers").mkdir(parents=True, exist_ok=True)
    (out / "catalog.yaml").write_text(catalog_yaml(default_profiles))
    for index in range(count):
        text, overview = server_yaml(rng, index, reviewed=default_profiles)
        (out / "servers" / f"server-{index:06d}.yaml").write_text(text)
        (out / "servers" / f"server-{index:06d}.md").write_text(overview)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--default-profiles", action="store_true", help="the registry profiles of catalog-source/catalog.yaml")
    arguments = parser.parse_args()
    write_catalog(arguments.out, arguments.count, arguments.seed, arguments.default_profiles)
