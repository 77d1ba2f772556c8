"""Kustomize folders as output files: the objects of a folder (`Manifest`), each in its file with
a header, the folder's kustomization, and an all.yaml of its applied objects; and the JSON patches
an overlay turns one object into another with.

A registry ConfigMap (1 MB each, 100 MB at 10,000 servers) is encoded only while its file is
written, and again for all.yaml: both are streams, never held whole. What goes into which folder is
bundles.py's to decide; nothing here knows a server or a profile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from generator.output import OutputFile
from generator.render.kubernetes.manifests import document_bytes, header, yaml_text

KUSTOMIZE_API = "kustomize.config.k8s.io/v1beta1"


@dataclass(frozen=True)
class Manifest:
    """One object and the file it goes into; `applied` False marks a template kustomize must skip."""

    stem: str
    document: dict[str, Any] | Callable[[], dict[str, Any]]
    """The object, or what makes it when its file is written (a registry ConfigMap: its text
    then exists only while that one file is encoded)."""
    note: str = ""
    applied: bool = True
    encoded: Callable[[], bytes] | None = None
    """The bytes `yaml_text(document)` gives, when the builder encodes them itself (a registry ConfigMap
    splices its registry document's bytes in instead of decoding and encoding 1 MB of JSON)."""


@dataclass(frozen=True)
class Folder:
    """A kustomize folder: its objects, sub-folders it includes and the source named in headers."""

    path: str
    source: str
    manifests: Sequence[Manifest]
    subfolders: Sequence[str] = ()


def folder_files(
    folder: Folder, version: str, *, component: bool = False, all_path: str | None = None,
    also_in_all: Callable[[], Iterable[bytes]] = lambda: (),
) -> list[OutputFile]:
    """Every object's file and the folder's kustomization.yaml (a Component for `mesh/`), then,
    given `all_path`, the all.yaml holding the same applied objects followed by `also_in_all()`
    (objects the folder's kustomization includes from sub-folders, already encoded, each after `---`).

    A registry ConfigMap (a manifest the builder encodes itself, 1 MB each, 100 MB at 10,000
    servers) is encoded only when its file is written, and again for all.yaml: its file is a
    `_ManifestFile`, all.yaml an `_AllYaml`, both streams, so that neither is ever held whole.
    """
    files: list[OutputFile] = []
    bodies: list[memoryview | Callable[[], bytes]] = []  # each object's YAML inside its file, for all.yaml
    for manifest in folder.manifests:
        head = header(version, folder.source, manifest.note).encode("utf-8")
        path = f"{folder.path}{manifest.stem}.yaml"
        if manifest.encoded is not None:
            files.append(OutputFile(path, _ManifestFile(head, manifest.encoded)))
            bodies.append(manifest.encoded)
            continue
        content = head + yaml_text(manifest_document(manifest)).encode("utf-8")
        files.append(OutputFile(path, content))
        bodies.append(memoryview(content)[len(head):])  # all.yaml's share of the file: no second copy
    files.append(_kustomization(folder, version, component))
    if all_path is not None:
        applied = [body for manifest, body in zip(folder.manifests, bodies) if manifest.applied]
        files.append(OutputFile(all_path, _AllYaml(_all_yaml_head(folder, version), applied, also_in_all)))
    return files


def _all_yaml_head(folder: Folder, version: str) -> bytes:
    return header(version, folder.source, "Every object of this bundle; secret templates are not included.").encode("utf-8")


@dataclass(frozen=True)
class _ManifestFile:
    """An object's file whose YAML is made when it is written (`Stream`): its header, then its body."""

    head: bytes
    body: Callable[[], bytes]

    def chunks(self) -> Iterator[bytes]:
        yield self.head
        yield self.body()


@dataclass(frozen=True)
class _AllYaml:
    """A folder's applied objects (`bodies`, some made again as they are written), then `also()`, as
    one multi-document file in kustomization order (`Stream`): 136 MB at 10,000 servers, never held."""

    head: bytes
    bodies: Sequence[bytes | memoryview | Callable[[], bytes]]
    also: Callable[[], Iterable[bytes]]

    def chunks(self) -> Iterator[bytes | memoryview]:
        yield self.head
        for body in self.bodies:
            yield b"---\n"
            yield body() if callable(body) else body
        yield from self.also()


def manifest_document(manifest: Manifest) -> dict[str, Any]:
    """The manifest's object (made now, when its builder makes it on demand)."""
    return manifest.document() if callable(manifest.document) else manifest.document


def _kustomization(folder: Folder, version: str, component: bool) -> OutputFile:
    resources = [f"{m.stem}.yaml" for m in folder.manifests if m.applied] + list(folder.subfolders)
    if component:
        kustomization: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1alpha1", "kind": "Component"}
    else:
        kustomization = {"apiVersion": KUSTOMIZE_API, "kind": "Kustomization"}
    kustomization["resources"] = resources
    return OutputFile(f"{folder.path}kustomization.yaml", document_bytes(header(version, folder.source), kustomization))


def all_yaml_text(folder: Folder, version: str) -> bytes:
    """The folder's applied objects as one multi-document text, in kustomization order: the bytes an
    all.yaml of the folder would hold, made without its other files. The site shows it for folders
    that write no all.yaml (a server's catalog-wide bundle `bundles/servers/<name>/`, the server's
    folder its deployers apply in a profile's bundle); a profile's bundle still writes its own, for the
    whole profile (`folder_files` with `all_path`)."""
    bodies = [manifest.encoded or yaml_text(manifest_document(manifest)).encode("utf-8")
              for manifest in folder.manifests if manifest.applied]
    return b"".join(_AllYaml(_all_yaml_head(folder, version), bodies, lambda: ()).chunks())


def json_patch(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """RFC 6902 operations turning `before` into `after`: mappings compared key by key, anything
    else (lists included: kustomize patches lists by index only) replaced whole where it differs."""
    if isinstance(before, dict) and isinstance(after, dict):
        operations: list[dict[str, Any]] = []
        for key in before:
            pointer = f"{path}/{_pointer_escape(key)}"
            if key not in after:
                operations.append({"op": "remove", "path": pointer})
            else:
                operations += json_patch(before[key], after[key], pointer)
        operations += [{"op": "add", "path": f"{path}/{_pointer_escape(key)}", "value": after[key]}
                       for key in after if key not in before]
        return operations
    if before == after and type(before) is type(after):
        return []
    return [{"op": "replace", "path": path, "value": after}]


def _pointer_escape(key: str) -> str:
    """A JSON Pointer token (RFC 6901): annotation keys hold `/`."""
    return key.replace("~", "~0").replace("/", "~1")
