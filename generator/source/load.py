"""Read the source folder into typed models, collecting every problem on the way.

The loader never stops at the first problem: each file is read, parsed and
validated on its own, and its diagnostics are gathered so that one run reports
everything. It refuses what could hurt the build machine or the readers of the
output: files over 1 MiB, symlinks that leave the source folder (or lead nowhere), file names
that are not DNS-1123 labels (which rules out `..` and `/` in paths).
"""

from __future__ import annotations

import datetime as dt
import errno
import marshal
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from generator.diagnostics import Diagnostic, dotted_path
from generator.models import DNS_LABEL, PLACEHOLDER, CatalogMeta, Server, Strict, windows_device_name
from generator.processes import worker_pool
from generator.source.hostile import hidden_characters, hidden_in_overview, json_incompatible
from generator.source.messages import diagnostics_from
from generator.source.yamlsafe import LoadedYaml, YamlProblem, YamlRefused, load_mapping

M = TypeVar("M", bound=Strict)
MAX_FILE_BYTES = 1 << 20
PARALLEL_THRESHOLD = 256
CATALOG_FILE = "catalog.yaml"
SERVERS_DIR = "servers"


@dataclass(frozen=True)
class ServerSource:
    """A validated server and where it came from."""

    server: Server
    path: str
    yaml: LoadedYaml
    """The file's lines for messages (its values are in `server`, and were dropped once validated)."""
    overview: str | None


FileIdentity = tuple[int, int, int, int]
"""(size, mtime, ctime, inode) of a file, as lstat gives them: a write changes ctime at least."""
DatePaths = list[tuple[tuple[str | int, ...], str]]
ParsedFiles = dict[str, tuple[tuple[FileIdentity, FileIdentity | None], bytes]]
"""Server files parsed cleanly, by name: identities of the .yaml and .md, and, packed with
`marshal`, the values with dates as ISO text, the overview, and where the dates were. Packed,
because unpacked values for every file at once were a few hundred megabytes at 10,000 servers,
which the process kept after they were freed; each is unpacked only while its file is validated."""


@dataclass
class SourceTree:
    """Everything read from the source folder; `meta` is None when catalog.yaml is unusable."""

    meta: CatalogMeta | None = None
    meta_yaml: LoadedYaml | None = None
    meta_path: str = ""
    checked_meta: CatalogMeta | None = None
    """`meta`, or when catalog.yaml has errors, its valid fields with stand-ins for the others: the
    checks of the rest of the source run against it, so that one run reports every problem."""
    faulty_meta_fields: frozenset[str] = frozenset()
    """The catalog.yaml fields that have stand-ins in `checked_meta` (a check reading one is skipped)."""
    servers: list[ServerSource] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    parsed: ParsedFiles = field(default_factory=dict)
    """The server files that parsed cleanly, for the next run's `already_parsed`."""
    faulty_servers: set[str] = field(default_factory=set)
    """The names (file names) of server files with errors: a rule of another file that names one is not
    judged (the server is there, its own problems are reported), as with `faulty_meta_fields`."""


def load_source(source_dir: Path, *, keep_parsed: bool = True, already_parsed: ParsedFiles | None = None) -> SourceTree:
    """Read `catalog.yaml` and every `servers/<name>.yaml` (with its `.md` overview).

    `keep_parsed` packs every file that parsed cleanly into `parsed`, for the build cache
    (validation alone does not need it). The overviews' text is always kept: a server's
    registry `_meta` holds it, and validation measures that `_meta` against `toolhive.max_meta_size`.
    `already_parsed` (from the build cache) spares parsing a file whose identity is unchanged;
    its values are validated again like any other.
    """
    tree = SourceTree()
    root = source_dir.resolve()
    tree.meta_path = str(source_dir / CATALOG_FILE)
    parsed, problems = _parse_file(source_dir / CATALOG_FILE, root)
    tree.diagnostics.extend(_catalog_missing(problem) for problem in problems)
    meta = _validate(CatalogMeta, parsed, tree.meta_path, tree.diagnostics)
    if meta is not None and parsed is not None and not parsed.refused:
        tree.meta, tree.meta_yaml = meta, parsed
        tree.checked_meta = meta
    elif parsed is not None:
        tree.checked_meta, tree.faulty_meta_fields = _meta_despite_errors(parsed)
        tree.meta_yaml = parsed if tree.checked_meta is not None else None
    servers_dir = source_dir / SERVERS_DIR
    if not servers_dir.is_dir():
        tree.diagnostics.append(Diagnostic(str(servers_dir), 0, "", "folder is missing: put one <name>.yaml per server in it"))
        return tree
    if not servers_dir.resolve().is_relative_to(root):
        tree.diagnostics.append(Diagnostic(str(servers_dir), 0, "", "symlink points outside the source folder"))
        return tree
    yaml_files, overviews = _list_server_files(servers_dir, tree.diagnostics)
    keeping = keep_parsed  # only a build keeps parsed files for the next run
    identities = {
        stem: (_identity(path), _identity(overviews[stem]) if stem in overviews else None) for stem, path in yaml_files
    } if keeping else {}
    known: set[str] = set()
    if already_parsed is not None and keeping:
        for stem, _ in yaml_files:
            entry = already_parsed.get(stem)
            if entry is not None and entry[0] == identities[stem]:
                known.add(stem)
                tree.parsed[stem] = entry
    jobs = [(path, overviews.get(stem), root) for stem, path in yaml_files if stem not in known]
    fresh = _parse_all(jobs)
    for stem, path in yaml_files:
        if stem in known:
            parsed, overview, problems = _unpacked(tree.parsed[stem][1], str(path))
        else:
            (parsed, overview, problems), packed = _opened(next(fresh), str(path))
            if parsed is not None and not problems and keeping:
                packed = packed or _packed(parsed.data, overview)
                if packed is not None:
                    tree.parsed[stem] = (identities[stem], packed)
        tree.diagnostics.extend(problems)
        server = _validate(Server, parsed, str(path), tree.diagnostics, unknown_left_out=True)
        if server is None or parsed is None:
            tree.faulty_servers.add(stem)
            continue
        if server.name != stem:
            line = parsed.line_of(("name",))
            tree.diagnostics.append(Diagnostic(str(path), line, "name", f"'{server.name}' must equal the file name '{stem}'"))
            tree.faulty_servers.add(stem)
            continue
        tree.servers.append(ServerSource(server, str(path), parsed.for_messages(), overview))
    server_stems = {stem for stem, _ in yaml_files}
    for stem, path in sorted(overviews.items()):
        if stem not in server_stems:
            tree.diagnostics.append(Diagnostic(str(path), 0, "", f"overview has no server file {stem}.yaml", "warning"))
    return tree


ParsedServer = tuple[LoadedYaml | None, str | None, list[Diagnostic]]


Job = tuple[Path, Path | None, Path]


def _packed(data: dict[str, Any], overview: str | None) -> bytes | None:
    """A parsed file for the build cache, or None when it holds a value `marshal` cannot store."""
    dates: DatePaths = []
    try:
        return marshal.dumps((_frozen(data, (), dates), overview, dates))
    except ValueError:
        return None


def _unpacked(packed: bytes, file: str) -> ParsedServer:
    values, overview, dates = marshal.loads(packed)
    return LoadedYaml(_thawed(values, dates), None, None, file), overview, []


def _frozen(value: Any, at: tuple[str | int, ...], dates: DatePaths) -> Any:
    """`value` with every date and datetime as ISO text, their paths noted in `dates`."""
    if isinstance(value, dict):
        return {key: _frozen(item, (*at, key), dates) for key, item in value.items()}
    if isinstance(value, list):
        return [_frozen(item, (*at, index), dates) for index, item in enumerate(value)]
    if isinstance(value, dt.datetime):
        dates.append((at, "datetime"))
        return value.isoformat()
    if isinstance(value, dt.date):
        dates.append((at, "date"))
        return value.isoformat()
    return value


def _thawed(plain: dict[str, Any], dates: DatePaths) -> dict[str, Any]:
    """`plain` with its dates restored, copying only the containers on the way to them."""
    data = dict(plain)
    for at, kind in dates:
        container: Any = data
        for step in at[:-1]:
            child = container[step]
            child = dict(child) if isinstance(child, dict) else list(child)
            container[step] = child
            container = child
        parse = dt.datetime.fromisoformat if kind == "datetime" else dt.date.fromisoformat
        container[at[-1]] = parse(container[at[-1]])
    return data


def _identity(path: Path) -> FileIdentity:
    stat = os.lstat(path)
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def _parse_all(jobs: list[Job]) -> Iterator[ParsedServer | _Packed]:
    """Parse every server file, in order, on all cores when there are many.

    YAML parsing is most of the time of a large validation, and files are
    independent; plain data crosses the process boundary, the models are built
    in the parent (pickling them costs more than building them), overlapping
    with the workers' parsing because results are yielded as they arrive.
    """
    workers = os.cpu_count() or 1
    if len(jobs) < PARALLEL_THRESHOLD or workers < 2:
        yield from map(_parse_server, jobs)
        return
    with worker_pool(workers) as pool:
        yield from pool.map(_parse_server_in_worker, jobs, chunksize=max(1, len(jobs) // (workers * 16)))


@dataclass(frozen=True)
class _Packed:
    """A worker's parsed file, packed as the build cache keeps it (see `ParsedFiles`)."""

    values: bytes
    problems: list[Diagnostic]


def _parse_server_in_worker(job: Job) -> ParsedServer | _Packed:
    # The values go back packed: the parent unpacks one file at a time while it validates and
    # keeps the bytes for the build cache as they are (unpickling every file's values at once
    # left a few hundred megabytes of holes in the parent at 10,000 servers). The file's bytes
    # stay behind: a message that needs a line reads the file again.
    parsed, overview, problems = _parse_server(job)
    # A file read without its refused values goes back whole: its validation needs `refused`.
    packed = None if parsed is None or parsed.refused else _packed(parsed.data, overview)
    if packed is not None:
        return _Packed(packed, problems)
    return (parsed.without_text(str(job[0])) if parsed else None), overview, problems


def _opened(result: ParsedServer | _Packed, file: str) -> tuple[ParsedServer, bytes | None]:
    """A parse result as values, and its packed bytes when it came packed."""
    if isinstance(result, _Packed):
        parsed, overview, _ = _unpacked(result.values, file)
        return (parsed, overview, result.problems), result.values
    return result, None


def _parse_server(job: Job) -> ParsedServer:
    path, overview_path, root = job
    parsed, problems = _parse_file(path, root)
    overview = None
    if overview_path is not None:
        raw = _read_bytes(overview_path, root, problems)
        if raw is not None:
            try:
                # A byte order mark (Windows editors write one) marks the encoding; it is not text.
                text = raw.decode("utf-8").removeprefix("\ufeff")
                overview = text
                problems += hidden_in_overview(str(overview_path), text) + _unfilled_overview(str(overview_path), text)
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].count(b"\n") + 1
                problems.append(Diagnostic(str(overview_path), line, "", "file is not UTF-8"))
    return parsed, overview, problems


def _parse_file(path: Path, root: Path) -> tuple[LoadedYaml | None, list[Diagnostic]]:
    """The file's values and lines, or the problems that kept it from being read."""
    problems: list[Diagnostic] = []
    raw = _read_bytes(path, root, problems)
    if raw is None:
        return None, problems
    try:
        parsed = load_mapping(raw, partial=True)
    except YamlRefused as refused:
        return None, [_located(str(path), problem) for problem in refused.problems]
    refusals = [_located(str(path), problem) for problem in parsed.problems]
    problems += refusals
    problems += hidden_characters(str(path), raw.decode("utf-8"), parsed) + json_incompatible(str(path), parsed)
    if PLACEHOLDER.encode() in raw:
        unfilled = [
            Diagnostic(str(path), parsed.line_of(at), dotted_path(at), "placeholder not filled in")
            for at in _placeholders(parsed.data, ())
        ]
        if unfilled:
            return None, refusals + unfilled
    return parsed, problems


def _catalog_missing(problem: Diagnostic) -> Diagnostic:
    """A missing catalog.yaml's problem, saying how a new catalog gets one (a server file's is a name it lists)."""
    if problem.message != _MISSING:
        return problem
    return replace(problem, message=f"{_MISSING}: `mcp-catalog new NAME --source DIR` starts a catalog with one to "
                                                "fill in (and a first server), or pass the --source that holds yours")


def _located(path: str, problem: YamlProblem) -> Diagnostic:
    return Diagnostic(path, problem.line, "" if problem.at is None else dotted_path(problem.at), problem.message)


# What stands in for a required catalog.yaml field that failed validation (see `_meta_despite_errors`).
_STAND_INS: dict[str, Any] = {
    "title": "-", "description": "-", "version": "0.0.0", "namespace": "invalid.example",
    "last_updated": "1970-01-01T00:00:00Z", "categories": [{"slug": "invalid", "title": "-"}],
}


def _meta_despite_errors(parsed: LoadedYaml) -> tuple[CatalogMeta | None, frozenset[str]]:
    """catalog.yaml's valid top-level fields with stand-ins for the faulty ones (their errors are
    already reported), and the faulty fields' names; (None, {}) when the file is not a mapping of fields.

    A field holding a value the YAML reading refused is faulty too, even when what is left of it is valid."""
    faulty = frozenset(str(at[0]) for at in parsed.refused)
    try:
        CatalogMeta.model_validate(parsed.data)
    except ValidationError as error:
        faulty |= frozenset(str(problem["loc"][0]) for problem in error.errors() if problem["loc"])
    else:
        if not faulty:
            return None, frozenset()
    data = {key: value for key, value in parsed.data.items() if key not in faulty}
    data.update({key: value for key, value in _STAND_INS.items() if key in faulty or key not in data})
    try:
        return CatalogMeta.model_validate(data), faulty | (_STAND_INS.keys() - parsed.data.keys())
    except ValidationError:
        return None, frozenset()


def problems_with_bytes(path: Path, raw: bytes, model: type[CatalogMeta] | type[Server]) -> list[Diagnostic]:
    """The errors the source file `path` (catalog.yaml or a server file) would have if it held `raw`,
    read as `load_source` reads it and validated alone: a command editing the source (`pin`) checks its
    edits before it writes them."""
    try:
        parsed = load_mapping(raw, partial=True)
    except YamlRefused as refused:
        return [_located(str(path), problem) for problem in refused.problems]
    problems = [_located(str(path), problem) for problem in parsed.problems]
    _validate(model, parsed, str(path), problems)
    return [problem for problem in problems if problem.severity == "error"]


def _validate(
    model: type[M], parsed: LoadedYaml | None, path: str, diagnostics: list[Diagnostic], *, unknown_left_out: bool = False
) -> M | None:
    """The model, or None when it is invalid (its problems added to `diagnostics`).

    With `unknown_left_out`, an unknown key (a typo such as `licence`) is reported and then left
    out, like a value the YAML reading refused: a server file's cross-file checks (an undeclared
    category, a duplicate tool) still run on the rest, so that one run reports every problem."""
    if parsed is None:
        return None
    try:
        return model.model_validate(parsed.data)
    except ValidationError as exc:
        diagnostics.extend(diagnostics_from(exc, model, parsed, path))
        diagnostics.extend(_problems_despite_errors(model, exc, parsed, path))
        unknown = [tuple(e["loc"]) for e in exc.errors(include_url=False) if e["type"] == "extra_forbidden"]
        if not unknown_left_out or len(unknown) < exc.error_count():
            return None
    try:
        return model.model_validate(_without(parsed.data, unknown))
    except ValidationError:
        return None


def _problems_despite_errors(model: type[M], error: ValidationError, parsed: LoadedYaml, path: str) -> list[Diagnostic]:
    """The model's cross-field problems that its field errors kept pydantic from finding (see
    `Strict.problems_despite_errors`), so that one run reports every problem of the file."""
    if not isinstance(parsed.data, dict):
        return []
    errors = error.errors(include_url=False)
    faulty = frozenset(str(item["loc"][0]) for item in errors if item["loc"])
    faulty |= frozenset(str(at[0]) for at in parsed.refused)
    found = {(tuple(item["loc"]), item["msg"]) for item in errors}  # the model validator did run: its own
    return [Diagnostic(path, parsed.line_of(at), dotted_path(at), message)
            for at, message in model.problems_despite_errors(parsed.data, faulty)
            if (at, f"Value error, {message}") not in found and (at, message) not in found]


def _without(data: Any, paths: list[tuple[str | int, ...]]) -> Any:
    """`data` copied without the values at `paths` (each the path of a mapping key)."""
    here = {at[0] for at in paths if len(at) == 1}
    if isinstance(data, dict):
        return {key: _without(value, [at[1:] for at in paths if len(at) > 1 and at[0] == key])
                for key, value in data.items() if key not in here}
    if isinstance(data, list):
        return [_without(value, [at[1:] for at in paths if len(at) > 1 and at[0] == index])
                for index, value in enumerate(data)]
    return data


def _list_server_files(servers_dir: Path, diagnostics: list[Diagnostic]) -> tuple[list[tuple[str, Path]], dict[str, Path]]:
    yaml_files: list[tuple[str, Path]] = []
    overviews: dict[str, Path] = {}
    try:
        entries = sorted(os.scandir(servers_dir), key=lambda e: e.name)
    except OSError as error:
        diagnostics.append(Diagnostic(str(servers_dir), 0, "", unreadable(error)))
        entries = []
    for entry in entries:
        path = servers_dir / entry.name
        stem, dot, suffix = entry.name.rpartition(".")
        if entry.name.startswith("."):  # editor, VCS and macOS dot files (.#x.yaml, ._x.yaml) are not ours
            continue
        if suffix == "yml" and dot:
            diagnostics.append(Diagnostic(str(path), 0, "", f"rename it to {stem}.yaml: server files end in .yaml"))
        elif suffix in ("yaml", "md") and dot:
            if not re.fullmatch(DNS_LABEL, stem) or len(stem) > 63:
                diagnostics.append(
                    Diagnostic(str(path), 0, "", "file name must be a DNS-1123 label (lower-case letters, digits, '-') + .yaml")
                )
            elif reserved := windows_device_name(stem):
                diagnostics.append(Diagnostic(str(path), 0, "", reserved))
            elif suffix == "yaml":
                yaml_files.append((stem, path))
            else:
                overviews[stem] = path
        else:
            diagnostics.append(Diagnostic(str(path), 0, "", "not a server file (<name>.yaml) or overview (<name>.md)", "warning"))
    return yaml_files, overviews


def _unfilled_overview(path: str, text: str) -> list[Diagnostic]:
    """An error per line of an overview still holding the scaffold's FILL-IN marker."""
    if PLACEHOLDER not in text:
        return []
    return [
        Diagnostic(path, number, "", "placeholder not filled in: describe the server for reviewers here")
        for number, line in enumerate(text.split("\n"), start=1) if PLACEHOLDER in line
    ]


def _placeholders(value: object, at: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    """Paths of the values that still hold the scaffold's FILL-IN marker."""
    if isinstance(value, str) and PLACEHOLDER in value:
        yield at
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _placeholders(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _placeholders(item, (*at, index))


def unreadable(error: OSError) -> str:
    """The message for a source file or folder the system refused to read."""
    return f"cannot read it: {error.strerror or error}: give the user running mcp-catalog read access to it"


def _broken_symlink(path: Path, error: OSError) -> str:
    """The message for a symlink that leads to no file: to nothing, in a loop, or where it may not look."""
    if error.errno == errno.ELOOP:
        return "symlink loop (it leads back to itself): make it point to a file, or remove it"
    if isinstance(error, FileNotFoundError):
        try:
            target = os.readlink(path)
        except OSError:
            target = "a file"
        return f"symlink points to {target}, which does not exist: make it point to a file, or remove it"
    return unreadable(error)


_MISSING = "file is missing"


def _read_bytes(path: Path, root: Path, diagnostics: list[Diagnostic]) -> bytes | None:
    """The file's bytes, or None with a diagnostic when it must not be read."""
    where = str(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        diagnostics.append(Diagnostic(where, 0, "", _MISSING))
        return None
    except OSError as error:
        diagnostics.append(Diagnostic(where, 0, "", unreadable(error)))
        return None
    if stat.S_ISLNK(info.st_mode):
        try:
            resolved = Path(os.path.realpath(path, strict=True))
            info = os.stat(resolved)
        except OSError as error:
            diagnostics.append(Diagnostic(where, 0, "", _broken_symlink(path, error)))
            return None
        if not resolved.is_relative_to(root):
            diagnostics.append(Diagnostic(where, 0, "", "symlink points outside the source folder: copy the file in instead"))
            return None
    if not stat.S_ISREG(info.st_mode):
        diagnostics.append(Diagnostic(where, 0, "", "not a regular file"))
        return None
    if info.st_size > MAX_FILE_BYTES:
        diagnostics.append(Diagnostic(where, 0, "", f"file is {info.st_size} bytes; the limit is {MAX_FILE_BYTES} (1 MiB)"))
        return None
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        diagnostics.append(Diagnostic(where, 0, "", unreadable(error)))
        return None
    if len(raw) > MAX_FILE_BYTES:  # grew between stat and read
        diagnostics.append(Diagnostic(where, 0, "", f"file is over the limit of {MAX_FILE_BYTES} bytes (1 MiB)"))
        return None
    return raw
