"""The objects a release's profile bundles render, by kind and name, as `kubectl kustomize` renders them.

`diff` names, for each server a profile no longer ships, every object of it to delete; the only
list of those that cannot drift from the bundles is the bundles themselves. This reads the
kustomizations of a release (files `diff` read out of a tarball, or a site folder) and follows their
`resources` and `components` the way kustomize does, keeping of each object its kind, name and
namespace, and the server folder (`bundles/servers/<name>/` or a profile's `servers/<name>/`) its
file lies in: no owner for the profile-wide parts. It renders nothing else: a kustomization using
a feature that could rename an object (a name prefix, a generator, a patch of a name or kind) is
refused, so that no command is ever made from a name kustomize would not render. It must not
decide what to delete: `diff` does, from two of these.

Of each manifest only what names its objects is parsed (`_identity_part`): a file's last top-level
key whose value runs to its end (a registry data ConfigMap's `data`, a policy's `spec`) is left
unparsed, which cannot change a kind, name or namespace before it.
"""

from __future__ import annotations

import posixpath
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml


BUNDLES = "bundles/"
PROFILES = "bundles/registries/"
KUSTOMIZATION = "kustomization.yaml"
VARIANTS = ("", "legacy/")
"""A profile's variant folders, as the bundles lay them out: current operators at its root, legacy in `legacy/`."""
SECRET_TEMPLATE = "secret.example.yaml"
"""A server's Secret template, in its catalog-wide folder (`bundles/servers/<name>/`)."""
MAX_BUNDLE_FILE = 8 << 20
"""A ConfigMap holds at most 1 MiB; no bundle file is near this."""
MAX_DEPTH = 16
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when PyYAML has it
KUSTOMIZATION_KEYS = frozenset({"apiVersion", "kind", "namespace", "resources", "components", "patches"})
"""What the bundles' kustomizations use; any other key (a name prefix, a generator...) may rename objects."""
RENAMING_PATHS = re.compile(r"^/(kind|metadata(/(name|namespace))?)?$")
KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,62}$")
NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
CLUSTER_SCOPED = frozenset({
    "namespace", "validatingadmissionpolicy", "validatingadmissionpolicybinding", "clusterrole", "clusterrolebinding",
    "customresourcedefinition", "mutatingwebhookconfiguration", "validatingwebhookconfiguration", "persistentvolume",
    "storageclass", "priorityclass",
})
"""Kinds kustomize gives no namespace; a delete line takes none of them (`-n` would not confine it)."""


class UnreadBundle(Exception):
    """A bundle this version cannot render kinds and names from; the message says which file and why."""


@dataclass(frozen=True)
class RenderedObject:
    """One object a kustomization renders."""

    kind: str
    name: str
    namespace: str
    server: str | None
    """The server whose folder holds the object's file; None for a profile-wide part."""

    @property
    def reference(self) -> str:
        """`kind/name`, as `kubectl delete` takes it."""
        return f"{self.kind.lower()}/{self.name}"


Reader = Callable[[str], bytes | None]
PACKED_FROM = 64 << 10
"""Files of at least this many bytes are kept compressed (`packed`): a profile's registry data and
admission policies, some 300 MB per release at 10,000 servers, of which only a few lines name objects."""


class Packed(bytes):
    """A file's bytes as `packed` keeps them: compressed by this module, so never from a release as is."""


def packed(raw: bytes) -> bytes:
    """A bundle file as kept in memory until rendered: compressed when large."""
    return Packed(zlib.compress(raw, 1)) if len(raw) >= PACKED_FROM else raw


class ReleaseBundles:
    """The bundle files of one release, rendered on demand (each folder once)."""

    def __init__(self, read: Reader, servers: set[str] | None = None) -> None:
        self._read = read
        self._servers = servers
        """The servers whose folders are rendered, None for all: a folder of another server is taken
        for rendering only objects of that server, named for it (the build refuses names that collide)."""
        self._rendered: dict[str, list[RenderedObject]] = {}

    def profile(self, profile: str) -> Iterator[tuple[str, str]]:
        """(variant, folder) of each variant the release ships of `profile`: "current" and "legacy"."""
        for variant in VARIANTS:
            folder = f"{PROFILES}{profile}/{variant}"
            if self._read(folder + KUSTOMIZATION) is not None:
                yield ("legacy" if variant else "current"), folder

    def server_objects(self, folder: str, server: str) -> list[RenderedObject]:
        """What a profile variant's folder renders for `server`: its workload overlay and its platform part."""
        overlay = f"{folder}servers/{server}/"
        found = self.render(overlay) if self._read(overlay + KUSTOMIZATION) is not None else []
        if self._read(f"{folder}platform/{KUSTOMIZATION}") is not None:
            found = found + self.render(f"{folder}platform/")
        return [item for item in found if item.server == server]

    def secret_template(self, server: str) -> list[RenderedObject]:
        """The Secret of the template `bundles/servers/<server>/secret.example.yaml`, which no
        kustomization renders: a deployer makes the Secret from it by hand. Empty without one."""
        path = f"{BUNDLES}servers/{server}/{SECRET_TEMPLATE}"
        raw = self._read(path) if NAME.match(server) else None
        return [] if raw is None else [o for o in _file_objects(raw, path) if o.kind == "Secret"]

    def everything(self, profile: str) -> list[RenderedObject]:
        """Every object any folder of the profile's bundle renders, each server overlay included."""
        objects: list[RenderedObject] = []
        for _variant, folder in self.profile(profile):
            objects += self.render(folder)
            for extra in ("with-mesh/",):
                if self._read(folder + extra + KUSTOMIZATION) is not None:
                    objects += self.render(folder + extra)
            for server in self._server_folders(folder):
                objects += self.render(f"{folder}servers/{server}/")
        return objects

    def _server_folders(self, folder: str) -> list[str]:
        listing = self._read(f"{folder}servers/") or b""
        return sorted(name for name in set(listing.decode().split("\n")) - {""} if self._rendered_server(name))

    def _rendered_server(self, server: str | None) -> bool:
        """Whether the objects of `server`'s folders are rendered (a profile-wide part's always are)."""
        return server is None or self._servers is None or server in self._servers

    def render(self, folder: str, depth: int = 0) -> list[RenderedObject]:
        """The objects `kubectl kustomize folder` renders, by kind, name and namespace."""
        if folder not in self._rendered:
            self._rendered[folder] = self._render(folder, depth)
        return self._rendered[folder]

    def _render(self, folder: str, depth: int) -> list[RenderedObject]:
        if depth > MAX_DEPTH:
            raise UnreadBundle(f"{folder}: kustomizations nested deeper than {MAX_DEPTH}")
        where = folder + KUSTOMIZATION
        document = _single(self._read(where), where)
        unknown = sorted(set(document) - KUSTOMIZATION_KEYS)
        if unknown:
            raise UnreadBundle(f"{where}: {', '.join(map(str, unknown))} may rename objects; not rendered")
        _check_patches(document.get("patches") or [], where)
        objects: list[RenderedObject] = []
        for entry in [*_strings(document.get("resources"), where), *_strings(document.get("components"), where)]:
            target = posixpath.normpath(posixpath.join(folder, entry))
            if not target.startswith(BUNDLES) or ".." in target.split("/"):
                raise UnreadBundle(f"{where}: {entry!r} is outside the bundles")
            if not self._rendered_server(folder_owner(f"{target}/{KUSTOMIZATION}")):
                continue
            if self._read(f"{target}/{KUSTOMIZATION}") is not None:
                objects += self.render(f"{target}/", depth + 1)
            else:
                objects += _file_objects(self._read(target), target)
        namespace = document.get("namespace")
        if namespace is not None:
            if not isinstance(namespace, str) or not NAME.match(namespace):
                raise UnreadBundle(f"{where}: namespace {namespace!r} is no Kubernetes name")
            objects = [item if item.kind.lower() in CLUSTER_SCOPED else
                       RenderedObject(item.kind, item.name, namespace, item.server) for item in objects]
        return objects


def _single(raw: bytes | None, where: str) -> dict:
    if raw is None:
        raise UnreadBundle(f"{where} is missing")
    try:
        document = yaml.load(raw, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise UnreadBundle(f"{where}: not YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(document, dict):
        raise UnreadBundle(f"{where}: not a kustomization")
    return document


def _strings(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise UnreadBundle(f"{where}: resources and components must be lists of paths")
    return value


def _check_patches(patches: object, where: str) -> None:
    """Refuse a patch that could change a name, a namespace or a kind: the bundles patch annotations,
    tool filters and API versions (JSON patches given inline), nothing else."""
    if not isinstance(patches, list):
        raise UnreadBundle(f"{where}: patches must be a list")
    for patch in patches:
        text = patch.get("patch") if isinstance(patch, dict) else None
        if not isinstance(text, str) or set(patch) - {"target", "patch"}:
            raise UnreadBundle(f"{where}: only inline JSON patches are read")
        try:
            operations = yaml.load(text, Loader=_LOADER)
        except yaml.YAMLError:
            raise UnreadBundle(f"{where}: a patch is not YAML") from None
        if not isinstance(operations, list) or not all(
            isinstance(op, dict) and isinstance(op.get("path"), str) and not RENAMING_PATHS.match(op["path"])
            and "from" not in op for op in operations
        ):
            raise UnreadBundle(f"{where}: a patch may change a name, namespace or kind; not rendered")


def _file_objects(raw: bytes | None, path: str) -> list[RenderedObject]:
    """Each object of one manifest file, owned by the server whose folder holds the file."""
    if raw is None:
        raise UnreadBundle(f"{path} is missing")
    try:
        documents = list(yaml.load_all(_identity_part(raw), Loader=_LOADER))
    except yaml.YAMLError:
        documents = []  # the cut fell inside a quoted or flow value: the whole file says what it is
    if not documents or documents[-1] is None:  # also when the cut left the last document no key
        try:
            documents = list(yaml.load_all(raw, Loader=_LOADER))
        except yaml.YAMLError as exc:
            raise UnreadBundle(f"{path}: not YAML ({str(exc).splitlines()[0]})") from None
    server = folder_owner(path)
    objects = []
    for document in documents:
        if document is None:
            continue
        metadata = document.get("metadata") if isinstance(document, dict) else None
        kind = document.get("kind") if isinstance(document, dict) else None
        name = metadata.get("name") if isinstance(metadata, dict) else None
        namespace = metadata.get("namespace", "") if isinstance(metadata, dict) else ""
        if not (isinstance(kind, str) and KIND.match(kind) and isinstance(name, str) and NAME.match(name)
                and isinstance(namespace, str) and (not namespace or NAME.match(namespace))):
            raise UnreadBundle(f"{path}: an object without a Kubernetes kind and name")
        objects.append(RenderedObject(kind, name, namespace, server))
    return objects


# A line beginning in the first column (a tab there is no indentation: YAML refuses it), and a key
# alone on such a line: its value is on the lines after it.
_TOP_LEVEL_LINE = re.compile(rb"\n[^ \n]")
_KEY_LINE = re.compile(rb"([A-Za-z][A-Za-z0-9]*):[ ]*\n")
IDENTITY_KEYS = frozenset({b"apiVersion", b"kind", b"metadata"})


def _identity_part(raw: bytes) -> bytes:
    """`raw` without the value of its last top-level key, when that key stands alone on the file's last
    line beginning in the first column and is not one naming the object: every line after it is
    indented or empty, so it is that key's value to the end of the file (no other key, document or
    directive follows), and every kind, name and namespace stands before it."""
    last = 0
    for match in _TOP_LEVEL_LINE.finditer(raw):
        last = match.start() + 1
    key = _KEY_LINE.match(raw, last)
    if key is None or key.group(1) in IDENTITY_KEYS:
        return raw
    return raw[:last]


def folder_owner(path: str) -> str | None:
    """The server whose folder holds `path`: `bundles/servers/<name>/...` or `.../servers/<name>/...`
    inside a profile's bundle; None for a profile-wide file."""
    parts = path.split("/")
    if parts[:2] == ["bundles", "servers"] and len(parts) > 3:
        return parts[2]
    if parts[:2] == ["bundles", "registries"]:
        for at in range(3, len(parts) - 2):
            if parts[at] == "servers":
                return parts[at + 1]
    return None


def is_bundle_file(path: str) -> bool:
    """Whether a release's file is one a profile's objects may be rendered from: the profiles'
    kustomizations and manifests, and the catalog-wide server folders they build on (no all.yaml or
    database Secret template), with each server's Secret template."""
    parts = path.split("/")
    if parts[:2] == ["bundles", "servers"] and len(parts) == 4 and parts[3] == SECRET_TEMPLATE:
        return True
    name = parts[-1]
    return path.startswith((PROFILES, f"{BUNDLES}servers/")) and name.endswith(".yaml") and name != "all.yaml" \
        and not name.endswith(".example.yaml")


def folder_bundles(root: Path, servers: set[str] | None = None) -> ReleaseBundles:
    """The bundles of a site folder, each file read when a kustomization first names it; rendering the
    folders of `servers` alone (None: of every server)."""
    return ReleaseBundles(_folder_reader(root), servers)


def bundles_of(files: dict[str, bytes], servers: set[str] | None = None) -> ReleaseBundles:
    """The bundles among the files read out of a release tarball (`is_bundle_file`), its catalog among
    them, some perhaps `packed`; rendering the folders of `servers` alone (None: of every server)."""
    return ReleaseBundles(_listing_reader({path: data for path, data in files.items() if is_bundle_file(path)}), servers)


def _listing_reader(files: dict[str, bytes]) -> Reader:
    """Files by path; a folder path (ending in `/`) reads as the names of its subfolders, one a line."""
    folders: dict[str, set[str]] = {}
    for path in files:
        parts = path.split("/")
        for at in range(1, len(parts) - 1):
            folders.setdefault("/".join(parts[:at]) + "/", set()).add(parts[at])

    def read(path: str) -> bytes | None:
        if path.endswith("/"):
            return "\n".join(sorted(folders[path])).encode() if path in folders else None
        raw = files.get(path)
        return zlib.decompress(raw) if isinstance(raw, Packed) else raw
    return read


def _folder_reader(root: Path) -> Reader:
    """Files of a site folder, none through a link or past `MAX_BUNDLE_FILE`; folders as `_listing_reader`'s."""
    def read(path: str) -> bytes | None:
        if path.startswith("/") or ".." in path.split("/"):
            return None
        where = root / path
        if any(part.is_symlink() for part in [where, *where.parents] if root in part.parents):
            return None
        if path.endswith("/"):
            if not where.is_dir():
                return None
            return "\n".join(sorted(child.name for child in where.iterdir() if child.is_dir())).encode()
        if not is_bundle_file(path) or not where.is_file() or where.stat().st_size > MAX_BUNDLE_FILE:
            return None
        return where.read_bytes()
    return read

