"""The `mcp-catalog` command: parse options, call one function, print the outcome.

Nothing here decides anything about catalogs; errors the user can fix arrive
as `CatalogError` subclasses and click prints them without a traceback.
Progress and timing go to stderr so that stdout stays clean for `schema`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from generator import __version__
from generator.diagnostics import Diagnostic
from generator.errors import SourceInvalid, UsageError, os_errors
from generator.importers import FORMAT_NAMES
from generator.models import IMAGE_MIRROR
from generator.source.validate import read_catalog

if TYPE_CHECKING:
    from generator.build import BuildReport
    from generator.render.context import Hosting

# The commands import what they run inside their own bodies: the renderers, Jinja, Markdown
# and the crypto libraries cost a third of a second that `validate` should not pay.


class _InputPath(click.Path):
    """click.Path whose checks (exists, file or folder) fail as one line, `PATH: problem (--option)`,
    with exit 1 like every other bad input, instead of click's usage block and exit 2."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = Path(os.fsdecode(value))
        where = f" ({_parameter_label(param)})"
        if self.exists and not path.exists():
            kind = "file or folder" if self.file_okay and self.dir_okay else "file" if self.file_okay else "folder"
            raise UsageError(f"{path}: no such {kind}{where}")
        if path.exists() and not self.dir_okay and path.is_dir():
            raise UsageError(f"{path}: is a folder, not a file{where}")
        if path.exists() and not self.file_okay and not path.is_dir():
            raise UsageError(f"{path}: is a file, not a folder{where}")
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as error:  # what else click checks, e.g. that it is readable
            raise UsageError(f"{path}: {error.message}{where}") from None


def _parameter_label(param: click.Parameter | None) -> str:
    """`--pubkey` for an option, `TARGET` for an argument."""
    if isinstance(param, click.Option):
        return "/".join(param.opts)
    return param.human_readable_name if param is not None else "argument"


DEFAULT_SOURCE = Path("catalog-source")


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options every command reading the catalog source takes: --source, --quiet, --verbose."""
    return click.option(
        "--source",
        type=_InputPath(path_type=Path, file_okay=False),
        default=DEFAULT_SOURCE,
        show_default=True,
        help="Folder holding catalog.yaml and servers/.",
    )(_output_options(command))


def _output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--quiet and --verbose, which every command but import takes: those reading no source take no
    --source, so that passing one is a usage error, not an option silently unused."""

    @click.option("--quiet", "-q", is_flag=True, help="Print only errors.")
    @click.option("--verbose", "-v", is_flag=True, help="Also print every warning in full.")
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return command(*args, **kwargs)

    return wrapper


class _ReadsNoSource(click.Command):
    """A command reading no catalog source (it takes `_output_options` alone): `--source` is a usage
    error saying so, where click alone would suggest another option (`Did you mean '--out'?`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as error:
            if error.option_name != "--source":
                raise
            raise click.NoSuchOption("--source", ctx=ctx, message=(
                f"No such option '--source': {self.name} reads no catalog source (validate, build, new and pin do)"
            )) from None


def _report_warnings(warnings: list[Diagnostic], quiet: bool, verbose: bool) -> None:
    if quiet or not warnings:
        return
    shown = warnings if verbose else warnings[:20]
    for warning in shown:
        click.echo(warning.format(), err=True)
    if len(shown) < len(warnings):
        click.echo(f"... and {len(warnings) - len(shown)} more warnings (--verbose shows all)", err=True)


@contextlib.contextmanager
def _warnings_listed(verbose: bool) -> Iterator[None]:
    """On a failed validation, list the warnings beside the errors only under --verbose."""
    try:
        yield
    except SourceInvalid as error:
        error.show_warnings = verbose
        raise


def _check_mirror(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(IMAGE_MIRROR, value):
        raise click.BadParameter(f"'{value}' is not HOST[:PORT][/PREFIX], e.g. registry.corp.example/mcp")
    return value


def _image_mirror_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--image-mirror HOST[/PREFIX]`, checked like catalog.yaml's `image_mirror`."""
    return click.option(
        "--image-mirror",
        metavar="HOST[/PREFIX]",
        default=None,
        callback=lambda _ctx, _param, value: _check_mirror(value),
        help=help_text,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mcp-catalog")
def main() -> None:
    """Build a static catalog of curated MCP servers for air-gapped enterprises."""


@main.command()
@_common
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def validate(source: Path, quiet: bool, verbose: bool, strict: bool) -> None:
    """Check the source and report every problem as path:line: field: message."""
    from generator.limits import output_limits  # the renderers measure what the outputs can carry

    with _warnings_listed(verbose):
        validated = read_catalog(source, strict=strict, keep_parsed=False, output_limits=output_limits)
    _report_warnings(validated.warnings, quiet, verbose)
    servers = validated.catalog.servers
    tools = sum(len(s.tools) for s in servers)
    if not quiet:
        click.echo(f"{len(servers)} servers, {tools} tools, {len(validated.warnings)} warnings")


@main.command("build")
@_common
@click.option(
    "--out",
    type=_InputPath(path_type=Path, file_okay=False),
    default=Path("site"),
    show_default=True,
    help="Output folder; replaced atomically when the build succeeds.",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option(
    "--templates",
    type=_InputPath(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="Folder of templates overriding the shipped ones of the same name.",
)
@_image_mirror_option("Rewrite every emitted image reference to this registry mirror (overrides catalog.yaml).")
@click.option(
    "--hosting",
    type=click.Choice(["query-layer", "plain"]),  # generator.render.context.HOSTING_MODES, not imported here
    default="query-layer",
    show_default=True,
    help="What will serve the site. query-layer: the shipped nginx or Apache configuration, which answers "
    "an MCP lookup whose document is a copy of another's (versions/latest, a profile's copy of the root's) "
    "from that one file. plain: any file server (object storage, python -m http.server); "
    "every MCP document is written as a file, copies included.",
)
@click.option("--profile", is_flag=True, help="Print where the time went: load, validate, each output kind, write.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="number of cores",
    help="Render the output kinds in this many processes; the output is the same for any number.",
)
@click.option(
    "--previous",
    type=_InputPath(path_type=Path, exists=True),
    default=None,
    help="The previous release (tarball or site folder): adds a 'changes since' page to the site.",
)
@click.option(
    "--cache-dir",
    type=_InputPath(path_type=Path, file_okay=False),
    default=None,
    help="Build cache folder [default: $XDG_CACHE_HOME/mcp-catalog/<out>-<hash>/, else ~/.cache/mcp-catalog/...].",
)
@click.option("--no-cache", is_flag=True, help="Render every server again and rewrite the whole output folder.")
def build_command(
    source: Path,
    quiet: bool,
    verbose: bool,
    out: Path,
    strict: bool,
    templates: Path | None,
    image_mirror: str | None,
    hosting: Hosting,
    profile: bool,
    jobs: int,
    previous: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
) -> None:
    """Validate the source and write the static site into --out.

    A rebuild renders again only the servers that changed since the last build of --out
    (see --cache-dir); the output is the same bytes as a build from scratch.
    """
    from generator.build import build
    with _warnings_listed(verbose):
        report = build(
            source, out, strict=strict, templates=templates, image_mirror=image_mirror, hosting=hosting, previous=previous,
            jobs=jobs,
            cache_dir=cache_dir, use_cache=not no_cache,
        )
    if verbose:  # a build is run often: its warnings are one count unless asked for
        _report_warnings(report.warnings, quiet, verbose)
    for note in () if quiet else report.notes:
        click.echo(note, err=True)
    if profile:
        for phase, seconds in report.timings:
            click.echo(f"{seconds:8.3f} s  {phase}", err=True)
    if not quiet:
        click.echo(
            f"built {report.servers} servers into {out} ({report.files:,} files, {_per_server(report)}"
            f"{_incremental(report)}, "
            f"{len(report.warnings)} warnings{'' if verbose or not report.warnings else ': --verbose lists them'})"
            f" in {report.seconds:.2f} s",
            err=True,
        )


def _per_server(report: BuildReport) -> str:
    """"31.5 per server": the output's volume per server, what the cuts of issue 14 are measured by."""
    return f"{report.files / report.servers:.1f} per server" if report.servers else "no server"


def _incremental(report: BuildReport) -> str:
    """", 2 servers rendered, 40 files written" when the cache spared work, else nothing."""
    if report.rendered_servers == report.servers and report.written == report.files:
        return ""
    servers = "1 server" if report.rendered_servers == 1 else f"{report.rendered_servers} servers"
    return f"; {servers} rendered, {report.written} files written"


@main.command()
@_common
@click.argument("name")
def new(source: Path, quiet: bool, verbose: bool, name: str) -> None:
    """Scaffold servers/NAME.yaml (and catalog.yaml in a folder without one); fill in every FILL-IN, then validate."""
    from generator.scaffold import scaffold
    with os_errors("cannot write", source, "choose another --source"):
        target, catalog = scaffold(source, name)
    if quiet:
        return
    # The command to run next, as it must be typed: validate's own default is catalog-source.
    validate = "mcp-catalog validate" + ("" if source == DEFAULT_SOURCE else f" --source {shlex.quote(str(source))}")
    written = f"{catalog} (a new catalog) and {target}" if catalog else str(target)
    click.echo(f"wrote {written}: replace every FILL-IN, then run `{validate}`", err=True)


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=_InputPath(path_type=Path))
@click.option(
    "--into",
    type=_InputPath(path_type=Path, file_okay=False),
    default=Path("catalog-source"),
    show_default=True,
    help="Source folder to write into; an empty or missing folder gets a minimal catalog.yaml.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["auto", *FORMAT_NAMES]), default="auto", show_default=True,
    help="Input format; auto recognises it from the content.",
)
@click.option("--only", multiple=True, metavar="NAME", help="Import only this server (repeatable).")
@click.option("--tier", type=click.Choice(["community", "validated"]), default="community", show_default=True)
@click.option("--category", default="imported", show_default=True, help="Category slug for new servers.")
@click.option("--update", is_flag=True, help="Merge upstream facts into existing files, keeping curated fields.")
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary and rejections.")
def import_command(
    files: tuple[Path, ...], into: Path, fmt: str, only: tuple[str, ...], tier: str, category: str,
    update: bool, dry_run: bool, quiet: bool,
) -> None:
    """Import ToolHive, MCP Registry or Docker registry entries as source files."""
    from generator.importers.report import format_report
    from generator.importers.run import ImportOptions, import_sources
    options = ImportOptions(into, fmt, tuple(n for o in only for n in o.split(",") if n), tier, category, update, dry_run)  # type: ignore[arg-type]
    report = import_sources(list(files), options)
    for line in format_report(report, verbose=not quiet, dry_run=dry_run):
        click.echo(line)
    raise SystemExit(report.exit_code)


@main.command(cls=_ReadsNoSource)
@_output_options
@click.option("--kind", type=click.Choice(["server", "catalog"]), default="server", show_default=True)
def schema(quiet: bool, verbose: bool, kind: str) -> None:
    """Print the JSON Schema of server files (or of catalog.yaml) for editors."""
    from generator.render.api.schemas import schema_bytes
    click.echo(schema_bytes(kind).decode("utf-8"), nl=False)  # type: ignore[arg-type]


@main.command(cls=_ReadsNoSource)
@_output_options
@click.option("--out", "prefix", type=_InputPath(path_type=Path, dir_okay=False), required=True, metavar="PREFIX",
              help="Writes PREFIX.key (secret, mode 0600) and PREFIX.pub.")
def keygen(quiet: bool, verbose: bool, prefix: Path) -> None:
    """Create an Ed25519 signing key pair in minisign format."""
    from generator.release.minisign import generate_keypair
    secret, public = generate_keypair(prefix)
    if not quiet:
        click.echo(f"wrote {secret} (keep it secret, off the site) and {public} (give it to verifiers)", err=True)


@main.command(cls=_ReadsNoSource)
@_output_options
@click.option("--site", type=_InputPath(path_type=Path, file_okay=False, exists=True), default=Path("site"),
              show_default=True, help="The built site to package.")
@click.option("--out", type=_InputPath(path_type=Path, file_okay=False), default=Path("dist"), show_default=True,
              help="Folder for the tarball, SHA256SUMS and signatures.")
@click.option("--key", type=_InputPath(path_type=Path, dir_okay=False, exists=True), default=None,
              help="Secret key from `mcp-catalog keygen`; without it nothing is signed.")
@click.option("--replace", is_flag=True,
              help="Overwrite a release of the same version in --out whose content differs (refused without it).")
def package(quiet: bool, verbose: bool, site: Path, out: Path, key: Path | None, replace: bool) -> None:
    """Pack the site into a reproducible tarball with checksums and signatures."""
    from generator.release.package import package_site
    result = package_site(site, out, key, replace)
    if not quiet:
        for path in (result.tarball, result.checksums, *result.signatures):
            click.echo(str(path))
        if not result.signatures:
            click.echo("not signed: pass --key to sign the release", err=True)
        for path in result.stale:
            click.echo(f"removed {path}: it signed the bytes this package replaced", err=True)


@main.command(cls=_ReadsNoSource)
@_output_options
@click.argument("target", type=_InputPath(path_type=Path))
@click.option("--pubkey", type=_InputPath(path_type=Path, dir_okay=False, exists=True), default=None,
              help="Public key the release must be signed with.")
@click.option("--not-older-than", metavar="VERSION", default=None, help="Refuse releases older than VERSION.")
def verify(quiet: bool, verbose: bool, target: Path, pubkey: Path | None, not_older_than: str | None) -> None:
    """Check a release tarball or site folder offline: signatures, sizes, checksums, completeness."""
    from generator.release.verify import verify_release
    verified = verify_release(target, pubkey, not_older_than)
    if not quiet:
        signed = f"signed by key {verified.signed_by} ({verified.trusted_comment})" if verified.signed_by else (
            "signature NOT checked (no --pubkey)")
        click.echo(f"{target}: OK, {verified.files} files match SHA256SUMS; {signed}")


@main.command(cls=_ReadsNoSource)
@_output_options
@click.argument("old", type=_InputPath(path_type=Path))
@click.argument("new_release", metavar="NEW", type=_InputPath(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the difference as JSON.")
def diff(quiet: bool, verbose: bool, old: Path, new_release: Path, as_json: bool) -> None:
    """Show what changed between two releases (tarballs or site folders) that needs review."""
    from generator.release.diff import diff_release_targets
    result = diff_release_targets(old, new_release)
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2, sort_keys=True))
    else:
        click.echo(result.as_text(), nl=False)


@main.command()
@_common
@click.option("--digests", "digest_file", type=_InputPath(path_type=Path, dir_okay=False, exists=True), required=True,
              help="Digest file of `<digest> docker://<image>` lines, as the runbook's skopeo loop writes them (or `<image>@<digest>` lines).")
@_image_mirror_option("The mirror the digests were recorded at, when catalog.yaml does not name it.")
def pin(source: Path, quiet: bool, verbose: bool, digest_file: Path, image_mirror: str | None) -> None:
    """Record image digests in the server files so every manifest is pinned."""
    from generator.release.pin import pin_digests
    report = pin_digests(source, digest_file, image_mirror)
    if not quiet:
        if report.removed_leftovers:
            click.echo(f"removed {len(report.removed_leftovers)} temporary file(s) an interrupted import or pin left "
                       f"in {source}", err=True)
        for reference in report.unmatched:
            click.echo(f"warning: {reference} matches no server in {source}", err=True)
        if report.hint:
            click.echo(f"warning: unmatched digests: {report.hint}", err=True)
        images = [label for label in report.pinned if label.startswith("toolhive.images.")]
        pinned = _counted(len(report.pinned) - len(images), "server")
        if images:
            pinned += f" and {_counted(len(images), 'ToolHive image')} ({', '.join(images)})"
        click.echo(
            f"pinned {pinned}, {len(report.unchanged)} already pinned, {_counted(len(report.unmatched), 'unmatched digest')}",
            err=True,
        )


def _counted(count: int, noun: str) -> str:
    """"1 server", "2 servers"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
