"""Mapping rules every importer shares: names, descriptions, env, permissions, tools.

Each foreign format has its own module that finds the values; this module
decides what they become in our source format, so that a rule (how a name
becomes a DNS-1123 label, how a long description is shortened) is written
once and documented once (docs/import.md). Every input value is hostile: a
value that does not fit our models is dropped with a warning or rejects the
entry, it is never passed through unchecked.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.models import ENV_NAME, HOST, IMAGE_REF, PLACEHOLDER, TAG, TOOL_NAME

DESCRIPTION_LIMIT = 100
TOOL_DESCRIPTION_LIMIT = 2000
TITLE_LIMIT = 80
# Our Tool model requires a description; upstream lists often carry names only.
# Saying so plainly beats inventing one, and a curator can replace it.
UNDESCRIBED_TOOL = "Not described upstream."
ANNOTATION_KEYS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")
PROVENANCE_KEYS = ("sigstore_url", "repository_uri", "repository_ref", "signer_identity", "runner_environment", "cert_issuer")
TRANSPORTS = {"stdio": "stdio", "sse": "sse", "streamable-http": "streamable-http", "http": "streamable-http"}
STATUSES = {"active": "active", "deprecated": "deprecated"}


@dataclass
class Candidate:
    """One upstream entry on its way to a source file.

    `key` is the upstream identity (used for ordering, duplicates and --only),
    `short_name` the part a file name is derived from, `position` where the entry
    sits in its input, `fields` the server's source fields without `name`.
    `problem` set means the entry is rejected for that reason.
    """

    key: str
    short_name: str
    position: str
    fields: dict[str, Any] = field(default_factory=dict)
    overview: str | None = None
    warnings: list[str] = field(default_factory=list)
    problem: str | None = None


# Upstream data has the wrong shapes in the wild (a number where a string belongs, a string
# where a list does); such an entry is rejected with a reason instead of stopping the import.
SHAPE_ERRORS = (TypeError, AttributeError, KeyError, ValueError, IndexError)


def guarded(build: Callable[[], Candidate], key: str, position: str) -> Candidate:
    """`build()`, or a rejected candidate saying which value had the wrong shape."""
    try:
        return build()
    except SHAPE_ERRORS as exc:
        reason = f"has a value of an unexpected type ({type(exc).__name__}: {str(exc)[:120]})"
        return Candidate(key=key, short_name=key.rsplit("/", 1)[-1] or "server", position=position, problem=reason)


# --- names ----------------------------------------------------------------------


def dns_label(text: str) -> str:
    """A DNS-1123 label for `text`: lower-case ASCII; other characters become "-", none at the ends.

    Idempotent (a valid label maps to itself) and never empty ("server" when nothing is left).
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    label = re.sub(r"[^a-z0-9-]+", "-", ascii_text).strip("-")[:63].rstrip("-")
    return label or "server"


def assign_names(keys: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Map each (key, short name) to a unique DNS-1123 label, independent of input order.

    Keys are taken in sorted order; the first key of a label gets it bare, the next
    ones get `-2`, `-3`, ... (the base shortened so the label stays within 63 characters).
    """
    assigned: dict[str, str] = {}
    used: set[str] = set()
    for key, short_name in sorted(set(keys)):
        if key in assigned:
            continue
        base = dns_label(short_name)
        label, number = base, 1
        while label in used:
            number += 1
            suffix = f"-{number}"
            label = base[: 63 - len(suffix)].rstrip("-") + suffix
        used.add(label)
        assigned[key] = label
    return assigned


# --- text -----------------------------------------------------------------------


def shorten_description(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """One line of at most `limit` characters, cut at a word boundary and marked with '…'.

    Whitespace runs (newlines included) become one space. A text without a space
    before the limit is cut hard. Returns "" only for a text that is all whitespace.
    """
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    space = cut.rfind(" ")
    if space > 0:
        cut = cut[:space]
    return (cut.rstrip(" ,;:-") or cut) + "…"


def title_for(title: Any, fallback: str, candidate: Candidate) -> str:
    """The upstream title when it is usable text, else `fallback`, within the title limit (a cut is reported)."""
    text = " ".join(title.split()) if isinstance(title, str) else ""
    short = shorten_description(text or fallback, TITLE_LIMIT)
    if text and short != text:
        candidate.warnings.append(f"title shortened from {len(text)} to {len(short)} characters")
    return short


def describe(candidate: Candidate, text: Any, title: Any = None) -> None:
    """Set `description` (shortened if needed, full text to the overview).

    An entry with a title but no description keeps the title as its description and gets a
    warning: a curator would rather write one line than lose the entry. Without either it is rejected.
    """
    if not isinstance(text, str) or not text.strip():
        if isinstance(title, str) and title.strip():
            candidate.fields["description"] = shorten_description(title)
            candidate.warnings.append("has no description: its title is used; write one line saying what the server does")
            return
        candidate.problem = "has no description (our catalog requires one line saying what the server does)"
        return
    short = shorten_description(text)
    candidate.fields["description"] = short
    if short != text.strip():
        candidate.overview = text.strip() + "\n"
        if short != " ".join(text.split()):
            candidate.warnings.append(f"description shortened to {len(short)} characters; the full text is in the overview")


def tags(values: Any, candidate: Candidate) -> list[str]:
    """Lower-case tags with '-' for other characters; unusable ones dropped with a warning."""
    result: list[str] = []
    for value in values if isinstance(values, list) else []:
        tag = re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-")
        if not re.fullmatch(TAG, tag):
            candidate.warnings.append(f"tag {str(value)[:60]!r} dropped: not a usable tag")
        elif tag not in result:
            result.append(tag)
    return result


def http_url(value: Any) -> str | None:
    """`value` when it is an http(s) URL without whitespace, else None."""
    if isinstance(value, str) and re.fullmatch(r"^https?://[^\s/$.?#][^\s]*$", value) and len(value) <= 2048:
        return value
    return None


def repository(value: Any, candidate: Candidate) -> None:
    """Set the candidate's `repository` to `value` when it is an http(s) URL; say so when it is dropped."""
    if url := http_url(value):
        candidate.fields["repository"] = url
    elif value not in (None, ""):
        candidate.warnings.append(f"repository {str(value)[:60]!r} dropped: not an http(s) URL")


# --- lifecycle and transport -----------------------------------------------------


def status(value: Any, candidate: Candidate) -> str:
    """Our status for an upstream one (any case); `deleted` rejects the entry."""
    text = str(value or "active").lower()
    if text == "deleted":
        candidate.problem = "is marked deleted upstream (withdrawn: never install it)"
    elif text not in STATUSES:
        candidate.warnings.append(f"unknown status {text[:40]!r} read as active")
    return STATUSES.get(text, "active")


def transport(value: Any, candidate: Candidate) -> str:
    """Our transport for an upstream one; an unknown transport rejects the entry."""
    text = str(value or "").lower()
    if text not in TRANSPORTS:
        candidate.problem = f"has transport {text[:40]!r}; supported are stdio, sse, streamable-http"
        return "stdio"
    return TRANSPORTS[text]


def port_of(url: Any) -> int | None:
    """The explicit port of a transport URL such as http://localhost:8080, else None."""
    match = re.match(r"^https?://[^/:]+:([0-9]{1,5})(/|$)", url) if isinstance(url, str) else None
    port = int(match.group(1)) if match else 0
    return port if 1 <= port <= 65535 else None


def split_image(reference: Any, candidate: Candidate) -> tuple[str | None, str | None]:
    """(image, digest) from an OCI reference that may carry `@sha256:...`; rejects a bad one."""
    match = IMAGE_REF.fullmatch(reference) if isinstance(reference, str) and len(reference) <= 512 else None
    if not match:
        candidate.problem = f"has image {str(reference)[:80]!r}, which is not a valid image reference"
        return None, None
    digest = match.group("digest")
    image = reference.split("@", 1)[0] if digest else reference
    return image, digest


def date_of(stamp: Any) -> dt.date | None:
    """The date of an RFC 3339 timestamp or date string, None when it is not one."""
    try:
        return dt.date.fromisoformat(stamp[:10]) if isinstance(stamp, str) else None
    except ValueError:
        return None


def version_for(version: Any, image: str | None, candidate: Candidate) -> str:
    """Upstream version, else the image tag, else the FILL-IN marker (with a warning).

    `latest` is no version (the MCP registry refuses it), so it is never taken from either."""
    if isinstance(version, str) and version != "latest" and re.fullmatch(r"^[^\s]{1,255}$", version):
        return version
    match = IMAGE_REF.fullmatch(image) if image else None
    tag = match.group("tag") if match else None
    if tag and tag != "latest":
        return tag
    return unknown_version(candidate)


def unknown_version(candidate: Candidate) -> str:
    """The FILL-IN marker, and a warning saying what to put there."""
    candidate.warnings.append(f"no version upstream: `version` is {PLACEHOLDER}, put the real version there")
    return PLACEHOLDER


# --- env, headers, permissions, provenance -----------------------------------------


def env_var(
    name: Any, description: Any, required: Any, secret: Any, default: Any, candidate: Candidate
) -> dict[str, Any] | None:
    """One env entry, or None (with a warning) when the name is not a variable name."""
    if not isinstance(name, str) or not re.fullmatch(ENV_NAME, name) or len(name) > 128:
        candidate.warnings.append(f"environment variable {str(name)[:60]!r} dropped: not a variable name")
        return None
    entry: dict[str, Any] = {"name": name}
    if isinstance(description, str) and description.strip():
        entry["description"] = shorten_description(description, 500)
    if required is True:
        entry["required"] = True
    if secret is True:
        entry["secret"] = True
    if default is not None and not isinstance(default, (dict, list)):
        if secret is True:
            candidate.warnings.append(f"default of secret variable {name} dropped (secrets carry no default)")
        else:
            entry["default"] = str(default)[:1000]
    return entry


def unique_by_name(entries: Iterable[dict[str, Any] | None], what: str, candidate: Candidate) -> list[dict[str, Any]]:
    """Drop empty entries and repeated names (keeping the first), warning about repeats."""
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in entries:
        if entry is None:
            continue
        if entry["name"] in seen:
            candidate.warnings.append(f"repeated {what} {entry['name']} dropped")
            continue
        seen.add(entry["name"])
        result.append(entry)
    return result


def header(name: Any, description: Any, required: Any, secret: Any, candidate: Candidate) -> dict[str, Any] | None:
    """One remote header, or None (with a warning) when the name is not an HTTP token."""
    if not isinstance(name, str) or not re.fullmatch(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$", name):
        candidate.warnings.append(f"header {str(name)[:60]!r} dropped: not an HTTP header name")
        return None
    entry: dict[str, Any] = {"name": name}
    if isinstance(description, str) and description.strip():
        entry["description"] = shorten_description(description, 500)
    if required is True:
        entry["required"] = True
    if secret is True:
        entry["secret"] = True
    return entry


def permissions(value: Any, candidate: Candidate) -> dict[str, Any] | None:
    """ToolHive-shaped permissions with unusable hosts, ports and paths dropped (warned)."""
    if not isinstance(value, Mapping):
        return None
    result: dict[str, Any] = {}
    network = value.get("network")
    if isinstance(network, Mapping):
        outbound = network.get("outbound") if isinstance(network.get("outbound"), Mapping) else {}
        result["network"] = {"outbound": _outbound(outbound, candidate)}
    for kind in ("read", "write"):
        paths = [p for p in value.get(kind) or [] if isinstance(p, str)]
        good = [p for p in paths if re.fullmatch(r"^(/[^/\x00]+)+/?$", p) and not {".", ".."} & set(p.split("/"))]
        for bad in sorted(set(paths) - set(good)):
            candidate.warnings.append(f"{kind} path {bad[:80]!r} dropped: not an absolute path")
        if good:
            result[kind] = good
    return result


def _outbound(outbound: Mapping[str, Any], candidate: Candidate) -> dict[str, Any]:
    result: dict[str, Any] = {}
    hosts = [str(h).lower() for h in outbound.get("allow_host") or [] if isinstance(h, (str, int))]
    good_hosts = [h for h in hosts if re.fullmatch(HOST, h) and len(h) <= 253]
    for bad in sorted(set(hosts) - set(good_hosts)):
        candidate.warnings.append(f"outbound host {bad[:80]!r} dropped: not a host name")
    if good_hosts:
        result["allow_host"] = list(dict.fromkeys(good_hosts))
    ports = [p for p in outbound.get("allow_port") or [] if isinstance(p, int) and not isinstance(p, bool)]
    if ports:
        result["allow_port"] = [p for p in dict.fromkeys(ports) if 1 <= p <= 65535]
    if outbound.get("insecure_allow_all") is True:
        result["insecure_allow_all"] = True
    return result


def provenance(value: Any) -> dict[str, str] | None:
    """The Sigstore provenance keys we model, as strings; None when there are none."""
    if not isinstance(value, Mapping):
        return None
    result = {key: value[key] for key in PROVENANCE_KEYS if isinstance(value.get(key), str) and value[key]}
    return result or None


# --- tools -----------------------------------------------------------------------


def tool_names(names: Any, candidate: Candidate) -> list[dict[str, Any]]:
    """Tools known by name only; the description says it was not given upstream."""
    tools = [tool_definition({"name": n}, candidate) for n in names if isinstance(n, str)] if isinstance(names, list) else []
    return unique_by_name(tools, "tool", candidate)


def tool_definition(definition: Any, candidate: Candidate) -> dict[str, Any] | None:
    """A full MCP tool definition (description, inputSchema, annotations) as our Tool."""
    if not isinstance(definition, Mapping):
        return None
    name = definition.get("name")
    if not isinstance(name, str) or not re.fullmatch(TOOL_NAME, name):
        candidate.warnings.append(f"tool {str(name)[:60]!r} dropped: not a usable tool name")
        return None
    text = definition.get("description")
    described = isinstance(text, str) and bool(text.strip())
    tool: dict[str, Any] = {
        "name": name,
        "description": shorten_description(text, TOOL_DESCRIPTION_LIMIT) if described else UNDESCRIBED_TOOL,
    }
    if described and tool["description"] != " ".join(text.split()):
        # What a client's model reads is the curator's call: a cut is never silent.
        candidate.warnings.append(f"tool {name}: description shortened from {len(text)} to "
                                  f"{len(tool['description'])} characters; the rest is not imported")
    annotations = definition.get("annotations")
    if isinstance(annotations, Mapping):
        hints = {k: annotations[k] for k in ANNOTATION_KEYS if isinstance(annotations.get(k), bool)}
        if hints:
            tool["annotations"] = hints
    schema = definition.get("inputSchema", definition.get("input_schema"))
    if isinstance(schema, Mapping) and schema:
        tool["input_schema"] = dict(schema)
    return tool


def tools_from(names: Any, definitions: Any, candidate: Candidate) -> list[dict[str, Any]]:
    """Full definitions where upstream has them, names only otherwise, in upstream order."""
    defined = {t["name"]: t for t in (tool_definition(d, candidate) for d in definitions or []) if t} if isinstance(definitions, list) else {}
    listed = tool_names(names, candidate)
    merged = [defined.pop(t["name"], t) for t in listed] + list(defined.values())
    return unique_by_name(merged, "tool", candidate)
