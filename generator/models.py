"""Typed models of the curated catalog: the single source of truth.

The source files on disk (`catalog.yaml`, `servers/<name>.yaml`) are validated
into these models; the JSON Schema (`mcp-catalog schema`), the field reference
(`docs/source-format.md`) and every renderer are derived from them. The models
check what one value can check on its own; rules that need several files
(unique names, known categories) live in `generator.source.validate`.

Field names follow the keys of the source format, which borrow from ToolHive's
registry (`permissions`, `provenance`, `env`) and the MCP tool definition
(`annotations`, `input_schema`) so that both mappings stay lossless.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import re
import typing
import urllib.parse
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict as StrictType, StringConstraints, ValidationError, ValidationInfo,
    field_validator, model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from generator.schema_rules import exactly_one, given, not_null, null, rule, rules
from generator.text import CONTROL, control_characters

# Marks a value `mcp-catalog new` left for the user; validation refuses it.
PLACEHOLDER = "FILL-IN"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
DIGEST = r"^sha256:[0-9a-f]{64}$"
TOOL_NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
TAG = r"^[a-z0-9][a-z0-9-]{0,48}[a-z0-9]$"
REVERSE_DNS = r"^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)+$"
# A host a server may reach: a DNS name, optionally with a leading dot meaning
# "this domain and every subdomain" (ToolHive's convention), or an IPv4 address.
HOST = r"^\.?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$"
# An internal registry mirror: HOST[:PORT][/PREFIX].
IMAGE_MIRROR = r"^[a-zA-Z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$"
# Kubernetes resource quantity, e.g. 100m, 0.5, 256Mi, 1G.
QUANTITY = r"^([0-9]+(\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
# An OCI reference: [registry[:port]/]path[:tag][@digest], lower-case path components.
_IMAGE_NAME = (
    r"^(?:(?P<registry>[a-zA-Z0-9.-]+(?::[0-9]+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
)
IMAGE_REF = re.compile(_IMAGE_NAME + r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")


def _for_editors(pattern: str) -> str:
    """A Python pattern as a JSON Schema (ECMA-262) one: without group names."""
    return re.sub(r"\(\?P<[a-z]+>", "(?:", pattern)


# The reference checks as the editor's schema states them (the validators below say what is wrong).
IMAGE_REF_SCHEMA = {"pattern": _for_editors(IMAGE_REF.pattern)}
IMAGE_WITHOUT_DIGEST_SCHEMA = {"pattern": _for_editors(_IMAGE_NAME + "$")}
HTTP_URL = r"^https?://[^\s/$.?#][^\s]*$"

# Device names Windows refuses as file names, whatever the extension: a release holding
# servers/con.html or a profile folder com1/ cannot be unpacked there.
WINDOWS_DEVICE_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{n}" for n in range(10)), *(f"lpt{n}" for n in range(10))})


def windows_device_name(name: str) -> str | None:
    """Why `name` cannot name a file on Windows, or None."""
    if name.lower() in WINDOWS_DEVICE_NAMES:
        return (f"'{name}' is a device name on Windows (CON, PRN, AUX, NUL, COM0-9, LPT0-9): "
                "a release holding it cannot be unpacked there; choose another name")
    return None


def _not_windows_device(name: str) -> str:
    if problem := windows_device_name(name):
        raise ValueError(problem)
    return name


DnsLabel = Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=63), AfterValidator(_not_windows_device)]
Tag = Annotated[str, StringConstraints(pattern=TAG)]
OneLine = Annotated[str, StringConstraints(min_length=1, max_length=100)]  # one line: every string but `Text` is
Quantity = Annotated[str, StringConstraints(pattern=QUANTITY)]
# A yes/no value or a number is taken only as YAML typed it: `required: "false"` or `port: "8080"` (which
# the editor's JSON Schema marks) is an error here too, and `true` is no port 1.
Flag = Annotated[bool, StrictType()]
Port = Annotated[int, StrictType(), Field(ge=1, le=65535)]


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Text pydantic would read as seconds since 1970, as it reads a number: "1767225600" is 2026-01-01.
_SECONDS = re.compile(r"\s*[-+]?[0-9]+(\.[0-9]*)?\s*")


def _as_written(value: Any) -> str:
    """A refused value as a message names it: a YAML flag or number as written, a text quoted and escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "a mapping"
    return f"the number {value!r}" if isinstance(value, (int, float)) else _shown(str(value))


def _calendar_date(value: Any) -> Any:
    """A date as YAML reads `2026-01-10`, or that text quoted; anything else is refused here because
    pydantic would take a number or a text of digits as seconds since 1970 (`date: 0` became
    1970-01-01 without a word) and a date-time for its day, which the editor's schema refuses."""
    if isinstance(value, dt.datetime):
        raise ValueError(f"must be a date without a time: write {value.date().isoformat()}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date that exists: correct it") from None
    raise ValueError(f"must be a date written YYYY-MM-DD, such as 2026-01-10, not {_as_written(value)}")


Date = Annotated[dt.date, BeforeValidator(_calendar_date)]
"""A calendar date (`YYYY-MM-DD`): YAML's own date, or the same text in quotes."""


class MultiLine:
    """Marks a free-text field (`Text`) whose value may hold tabs and line breaks."""


Text = Annotated[str, MultiLine()]
"""Free text that may span lines: a description, review notes. Every other string is one line."""
# What a one-line value may not hold, beside the control characters no value may hold
# (`generator.text.CONTROL`, which the YAML reader refuses too; an importer builds models from JSON).
_LINE_BREAK_OR_TAB = re.compile(r"[\t\n\r]")


class Strict(BaseModel):
    """Base of every source model: unknown keys are errors, values are frozen, strings are one line.

    A string field, or a list or mapping of strings, may hold no tab or line break unless it is
    `Text`: a new field is one line until it is declared otherwise, so that no value can add a line
    to a shell command, a YAML document or a list file that quotes it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            if _LINE_BREAK_OR_TAB.search(value) is None and CONTROL.search(value) is None:
                return value
        elif not isinstance(value, (list, tuple, dict)) or not value:
            return value
        assert info.field_name is not None
        one_line = info.field_name not in _multi_line_fields(cls)
        errors = [
            InitErrorDetails(type=PydanticCustomError("value_error", "{error}", {"error": problem}), loc=at, input=text)
            for at, text in _strings_in(value) if (problem := _text_problem(text, one_line))
        ]
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return value

    def _refuse_at(self, problems: list[tuple[tuple[str, ...], str]]) -> None:
        """Raise `problems` (field path, message) each at its field, so that a message is on the line
        to edit (`env[0].default`, not `env[0]`); () is the model itself."""
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, [
                InitErrorDetails(type=PydanticCustomError("value_error", "{error}", {"error": message}), loc=at,
                                 input=getattr(self, at[0]) if at else None)
                for at, message in problems
            ])

    @classmethod
    def problems_despite_errors(cls, data: Mapping[str, Any], faulty: frozenset[str]) -> list[tuple[tuple[str, ...], str]]:
        """The model's own cross-field problems in `data`, judged although its `faulty` fields are invalid
        (pydantic runs a model validator only when every field is valid): none unless a model says."""
        return []

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        # The editor's schema states the one-line rule too: a string of a field not declared `Text`
        # gets a pattern refusing tabs and line breaks, unless its own pattern already is stricter.
        schema = handler(core_schema)
        multi_line = _multi_line_fields(cls)
        for name, field_schema in handler.resolve_ref_schema(schema).get("properties", {}).items():
            if name not in multi_line:
                _one_line_in_schema(field_schema)
        return schema


ONE_LINE = r"^[^\t\n\r]*$"


def _one_line_in_schema(schema: dict[str, Any]) -> None:
    """Give every string of `schema` (in a union, a list, a mapping's keys and values) the one-line
    pattern, unless it has a pattern or an enum of its own; nested models get theirs from their class."""
    if schema.get("type") == "string" and "pattern" not in schema and "enum" not in schema:
        schema["pattern"] = ONE_LINE
    for branch in schema.get("anyOf", []):
        _one_line_in_schema(branch)
    for key in ("items", "additionalProperties", "propertyNames"):
        if isinstance(schema.get(key), dict):
            _one_line_in_schema(schema[key])
    if schema.get("type") == "object" and "propertyNames" not in schema and "$ref" not in schema:
        schema["propertyNames"] = {"pattern": ONE_LINE}
    for value_schema in schema.get("patternProperties", {}).values():
        _one_line_in_schema(value_schema)


@functools.cache
def _multi_line_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields of `model` declared `Text` (alone, optional or in a list)."""
    return frozenset(name for name, info in model.model_fields.items()
                     if any(isinstance(mark, MultiLine) for mark in info.metadata) or _marked(info.annotation))


def _marked(annotation: Any) -> bool:
    return any(isinstance(arg, MultiLine) or _marked(arg) for arg in typing.get_args(annotation))


def _strings_in(value: Any, at: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], str]]:
    """The strings of a field's value with their place in it, at any depth: itself, a list's items,
    a mapping's keys and values (an `input_schema` nests them)."""
    if isinstance(value, str):
        return [(at, value)]
    if isinstance(value, (list, tuple)):
        return [found for index, item in enumerate(value) for found in _strings_in(item, (*at, index))]
    if isinstance(value, dict):
        return [found for key, item in value.items()
                for found in ([((*at, key), key)] if isinstance(key, str) else []) + _strings_in(item, (*at, key))]
    return []


def _text_problem(text: str, one_line: bool) -> str | None:
    """Why `text` may not be a value: a control character in any field (the YAML reader refuses those
    it reads, but an importer builds models from JSON), a tab or line break in a one-line field."""
    controls = control_characters(text)
    if controls is not None:
        return controls
    found = _LINE_BREAK_OR_TAB.search(text) if one_line else None
    return None if found is None else _not_one_line(found)


def _not_one_line(found: re.Match[str]) -> str:
    what = "a tab" if found.group() == "\t" else "a line break"
    return f"holds {what} ({found.group()!r}): this field is one line of text; remove it"


HttpUrl = Annotated[str, StringConstraints(max_length=2048, pattern=HTTP_URL)]

# What the official MCP registry's publish validator refuses as a version: a
# comparator prefix (^1.2, ~1, >=1.0), alternatives (1.2||1.3) and wildcard
# components (1.x, 1.2.*). Whitespace, hence `1 - 2` ranges, is refused by the pattern.
_RANGE_PREFIX = re.compile(r"^(\^|~|>=|<=|>|<|=)v?\d")
_WILDCARD = re.compile(r"^(v?\d+|[xX*])(\.(\d+|[xX*])){1,2}(-[0-9A-Za-z.-]+)?$")


def _specific_version(value: str | None) -> str | None:
    """Refuse the versions the official registry refuses: a mirror must never serve one."""
    if value is None:
        return value
    if value == "latest":
        raise ValueError(
            "'latest' is reserved by the MCP registry (it names the newest version): "
            "use the real version the image or package carries, e.g. 1.4.2"
        )
    if value == "index.json":
        raise ValueError("'index.json' is the file name of the mirror's versions list: use the real version, e.g. 1.4.2")
    wildcard = _WILDCARD.fullmatch(value) is not None and any(c in value for c in "xX*")
    if _RANGE_PREFIX.match(value) or "||" in value or wildcard:
        raise ValueError(f"{value!r} is a version range, which the MCP registry refuses: use the one real version")
    return value


# --- catalog.yaml -------------------------------------------------------------


class Category(Strict):
    """A category servers are filed under; pages and filters are built from these."""

    slug: DnsLabel = Field(description="Identifier used in server files and URLs (a DNS-1123 label).")
    title: str = Field(min_length=1, max_length=80, description="Human-readable name shown in the site.")
    description: Text = Field(default="", max_length=500, description="One or two sentences on what belongs here.")


class Selector(Strict):
    """A set of servers picked by tier, tag, category or name; empty lists match nothing."""

    tiers: list[Literal["validated", "community"]] = Field(default_factory=list, description="Servers of these tiers.")
    tags: list[Tag] = Field(default_factory=list, description="Servers carrying any of these tags.")
    categories: list[DnsLabel] = Field(default_factory=list, description="Servers in any of these categories.")
    names: list[DnsLabel] = Field(default_factory=list, description="Servers with exactly these names.")


class ToolPolicy(Strict):
    """Which tools a registry profile withholds from the servers it admits."""

    exclude_annotations: list[Literal["destructiveHint", "openWorldHint"]] = Field(
        default_factory=list,
        description="Drop every tool whose annotation of this name is true, or not declared: MCP's default for both "
        "(a read-only tool is not destructive); e.g. destructiveHint in production.",
    )
    exclude_names: list[str] = Field(default_factory=list, description="Drop tools with these names, on every server.")


class RegistryProfile(Strict):
    """A namespace-scoped registry: a subset of the catalog deployed into one Kubernetes namespace."""

    name: DnsLabel = Field(description="Profile identifier, used in file paths and resource names.")
    namespace: DnsLabel = Field(description="Kubernetes namespace the profile's registry and servers go into.")
    description: Text = Field(default="", max_length=500, description="What the profile is for, shown in the site.")
    include: Selector | None = Field(
        default=None, description="Servers admitted; when absent, every server is admitted before `exclude`."
    )
    exclude: Selector = Field(default_factory=Selector, description="Servers removed after `include`.")
    approved_only: Flag = Field(default=False, description="Admit only servers whose review is approved and unexpired.")
    include_deprecated: Flag = Field(default=False, description="Admit servers whose status is deprecated.")
    tools: ToolPolicy = Field(default_factory=ToolPolicy, description="Tools withheld from the admitted servers.")
    deployers_group: str = Field(
        default="mcp-deployers",
        min_length=1,
        description="Kubernetes group allowed to create MCP servers in the namespace (RBAC).",
    )
    viewers_group: str = Field(
        default="mcp-viewers", min_length=1, description="Kubernetes group given read-only access (RBAC)."
    )
    sync_interval: str = Field(
        default="1h",
        pattern=r"^[0-9]+(s|m|h)$",
        description="How often the in-cluster registry re-reads its data (a Go duration such as 30m or 1h).",
    )
    operator: Literal["current", "legacy", "both"] = Field(
        default="current",
        description="Which ToolHive operators the bundle targets: `current` (v1beta1 objects, the registry server "
        "from its Helm chart or the deprecated MCPRegistry), `legacy` (v0.15-v0.16, `legacy/` only) or `both`.",
    )
    image_pull_secrets: list[DnsLabel] | None = Field(
        default=None,
        description="Secrets the profile's pods pull images with; absent means catalog.yaml's `toolhive.image_pull_secrets`.",
    )
    refuse: Literal["mutable-tags"] | None = Field(
        default=None,
        description="`mutable-tags` leaves out (with a warning) every server whose image is `latest` or untagged "
        "and not pinned by digest.",
    )
    require_digest: Flag = Field(
        default=False, description="Leave out (with a warning) every container server not pinned by digest."
    )


def _image_reference(value: str) -> str:
    if not IMAGE_REF.fullmatch(value):
        raise ValueError("is not a valid image reference (expected registry/path:tag[@sha256:...])")
    return value


ImageRef = Annotated[str, Field(max_length=512, json_schema_extra=IMAGE_REF_SCHEMA), AfterValidator(_image_reference)]


class ToolHiveImages(Strict):
    """The images a ToolHive install pulls besides the MCP servers' own (defaults: operator chart
    0.44.0 and registry server chart 1.5.1); a reference may carry `@sha256:` (`mcp-catalog pin`)."""

    operator: ImageRef = Field(default="ghcr.io/stacklok/toolhive/operator:v0.44.0", description="The operator.")
    proxy_runner: ImageRef = Field(
        default="ghcr.io/stacklok/toolhive/proxyrunner:v0.44.0",
        description="The proxy runner the operator starts for every MCPServer and MCPRemoteProxy (`toolhiveRunnerImage`).",
    )
    vmcp: ImageRef = Field(
        default="ghcr.io/stacklok/toolhive/vmcp:v0.44.0",
        description="Virtual MCP server (`vmcpImage`); the operator's environment always names it.",
    )
    registry_api: ImageRef = Field(
        default="ghcr.io/stacklok/thv-registry-api:v1.3.0",
        description="The registry API the operator runs for an MCPRegistry (`registryAPI.image`).",
    )
    registry_server: ImageRef = Field(
        default="ghcr.io/stacklok/thv-registry-api:v1.5.1",
        description="The registry server installed from its own Helm chart (`image.registryServerUrl`).",
    )
    database: ImageRef | None = Field(
        default=None, description="The PostgreSQL image you run for the registry server, listed for mirroring."
    )


# A Kubernetes label key (an optional DNS-1123 subdomain prefix and '/', then a name of at most 63
# characters) and value (at most 63 characters, possibly empty), as the API server validates them.
LABEL_NAME = r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)"
LABEL_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{LABEL_NAME}$")
LABEL_VALUE = re.compile(rf"^{LABEL_NAME}?$")


def _shown(value: str) -> str:
    """A refused value as a message shows it: quoted, hidden characters escaped, long ones cut."""
    return ascii(value if len(value) <= 80 else value[:80] + "...")


def _labels(value: dict[str, str]) -> dict[str, str]:
    if not value:
        raise ValueError("must name at least one label: an empty set picks every pod of the namespace")
    problems = [f"key {_shown(key)} is not a Kubernetes label key (an optional DNS subdomain and '/', then at most "
                "63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)"
                for key in value if not LABEL_KEY.fullmatch(key) or len(key.partition("/")[0]) > 253]
    problems += [f"value {_shown(label)} of {_shown(key)} is not a Kubernetes label value (at most 63 letters, digits, "
                 "'-', '_' or '.', starting and ending with a letter or digit)"
                 for key, label in value.items() if not LABEL_VALUE.fullmatch(label)]
    if problems:
        raise ValueError("; ".join(problems))
    return value


def _cidr(value: str) -> str:
    """An address block as its canonical CIDR (a bare address is one address: /32 or /128)."""
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{_shown(value)} is not an IP address or CIDR block (e.g. 169.254.20.10 or 10.96.0.0/12)") from None
    address, slash, _ = value.partition("/")
    if slash and ipaddress.ip_address(address) != network.network_address:
        raise ValueError(f"{_shown(value)} has host bits set: write the block as {network}")
    return str(network)


Cidr = Annotated[str, StringConstraints(max_length=64), AfterValidator(_cidr)]


# The cluster DNS's pods carry `k8s-app: kube-dns` (the name kept from kube-dns for CoreDNS) in
# kube-system: Kubernetes' own addon (cluster/addons/dns/coredns/coredns.yaml.base, which kubeadm's
# CoreDNS Deployment follows), CoreDNS's deployment/kubernetes/coredns.yaml.sed and k3s's
# manifests/coredns.yaml set it on the pod template, as do EKS's, AKS's CoreDNS and GKE's kube-dns.
# OpenShift's DNS (namespace openshift-dns, port 5353) and NodeLocal DNSCache (host network, a
# link-local address) differ: catalog.yaml says so (docs/bundles.md, "DNS").
class DnsPods(Strict):
    """The pods of the cluster's DNS service, as a NetworkPolicy peer (namespace and pod labels)."""

    namespace: DnsLabel = Field(default="kube-system", description="The namespace the DNS pods run in.")
    labels: Annotated[dict[str, str], AfterValidator(_labels)] = Field(
        default_factory=lambda: {"k8s-app": "kube-dns"},
        json_schema_extra={"minProperties": 1, "propertyNames": {"pattern": LABEL_KEY.pattern},
                           "additionalProperties": {"type": "string", "pattern": LABEL_VALUE.pattern}},
        description="Labels every DNS pod carries (an empty set would pick every pod of the namespace).",
    )


class ClusterDns(Strict):
    """Where the cluster's DNS answers: the only peers every pod's DNS egress may reach."""

    pods: DnsPods | None = Field(
        default_factory=DnsPods, description="The DNS pods; null when the DNS is reached at `cidrs` only."
    )
    cidrs: list[Cidr] = Field(
        default_factory=list,
        description="Address blocks the DNS answers at that no pod selector reaches (NodeLocal DNSCache's 169.254.20.10).",
    )
    ports: list[Port] = Field(
        default_factory=lambda: [53], min_length=1, description="The DNS ports, each opened for UDP and TCP."
    )

    model_config = ConfigDict(json_schema_extra=rules(
        rule("names no DNS server: give `pods` or `cidrs`, or no pod could resolve a name",
             when={"required": ["pods"], "properties": {"pods": null()}},
             then={"required": ["cidrs"], "properties": {"cidrs": {"minItems": 1}}}),
    ))

    @model_validator(mode="after")
    def _names_a_server(self) -> ClusterDns:
        if self.pods is None and not self.cidrs:
            raise ValueError("names no DNS server: give `pods` or `cidrs`, or no pod could resolve a name")
        return self


# kubeadm's default `--service-account-issuer`, which k3s and kind keep; managed clusters name their own
# (EKS an `oidc.eks.<region>.amazonaws.com/id/...` URL, GKE a `container.googleapis.com` one).
DEFAULT_SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"


def _issuer(value: str) -> str:
    """The cluster's service-account issuer as tokens carry it in `iss`: an https URL, compared
    byte for byte, which the registry server (v1.5.1) accepts only with https and a host."""
    if any(not "!" <= character <= "~" for character in value):
        raise ValueError(f"{_shown(value)} holds spaces, control or non-ASCII characters: copy the issuer "
                         "from `kubectl get --raw /.well-known/openid-configuration`")
    parts = urllib.parse.urlsplit(value)
    try:
        parts.port
    except ValueError:
        raise ValueError(f"{_shown(value)} has an invalid port") from None
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{_shown(value)} is not an https URL with a host: the registry server refuses any other "
                         "issuer; `kubectl get --raw /.well-known/openid-configuration` shows the cluster's")
    if parts.username is not None or parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError(f"{_shown(value)} carries credentials, a query or a fragment, which no service-account "
                         "issuer has: copy the issuer from `kubectl get --raw /.well-known/openid-configuration`")
    return value


IssuerUrl = Annotated[str, StringConstraints(min_length=1, max_length=2048),
                      Field(json_schema_extra={"pattern": r"^https://[^\s/?#@]+(/[^\s?#]*)?$"}), AfterValidator(_issuer)]


class RegistryAuth(Strict):
    """Who may write to every profile's registry server: the read API stays open to every client."""

    mode: Literal["kubernetes", "anonymous"] = Field(
        default="kubernetes",
        description="`kubernetes`: writes need a token of the profile's `registry-admin` service account; "
        "`anonymous` (warned about): every pod that reaches the registry may write.",
    )
    issuer: IssuerUrl = Field(
        default=DEFAULT_SERVICE_ACCOUNT_ISSUER,
        description="The cluster's service-account token issuer (`iss`), as `kubectl get --raw "
        "/.well-known/openid-configuration` shows it.",
    )


class ToolHiveRelease(Strict):
    """The ToolHive release the catalog's bundles and Helm values target."""

    operator_chart: str = Field(
        default="0.44.0", pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$", description="Version of the operator (and operator-crds) Helm chart."
    )
    registry_server_chart: str = Field(
        default="1.5.1", pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$", description="Version of the toolhive-registry-server Helm chart."
    )
    images: ToolHiveImages = Field(default_factory=ToolHiveImages, description="Every image of the install.")
    image_pull_secrets: list[DnsLabel] = Field(
        default_factory=list, description="Secrets every pod pulls images with (an internal registry usually needs one)."
    )
    cluster_dns: ClusterDns = Field(
        default_factory=ClusterDns,
        description="The cluster's DNS: every pod's DNS egress goes there only (default: CoreDNS, `k8s-app: kube-dns` in kube-system).",
    )
    registry_auth: RegistryAuth = Field(
        default_factory=RegistryAuth,
        description="Who may write to the registry servers (default: the profile's `registry-admin` service account).",
    )
    max_meta_size: Annotated[int, StrictType()] = Field(
        default=256 * 1024, ge=1024,
        description="The registry server's `database.maxMetaSize`: a server whose publisher-provided `_meta` is larger is a validation error (its registry server would refuse the whole sync).",
    )


class CatalogMeta(Strict):
    """The catalog's own metadata, read from `catalog.yaml`."""

    title: str = Field(min_length=1, max_length=120, description="Name of the catalog, shown on every page.")
    description: Text = Field(min_length=1, max_length=2000, description="What the catalog is, for the about page.")
    version: str = Field(
        pattern=r"^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$",
        description="Version of this catalog release (semantic version).",
    )
    namespace: str = Field(
        pattern=REVERSE_DNS,
        description="Reverse-DNS publisher prefix for MCP registry names, e.g. com.example.mcp.",
    )
    last_updated: dt.datetime = Field(
        description="When the catalog content last changed (RFC 3339); every output uses this, never the clock."
    )
    publisher: str = Field(default="", max_length=120, description="Team or organisation that curates the catalog.")
    image_mirror: str | None = Field(
        default=None,
        pattern=IMAGE_MIRROR,
        description="Internal registry (HOST[/PREFIX]) that every emitted image reference is rewritten to.",
    )
    toolhive: ToolHiveRelease = Field(
        default_factory=ToolHiveRelease, description="The ToolHive release (images, Helm charts) the install targets."
    )
    categories: list[Category] = Field(min_length=1, description="The categories servers may be filed under.")
    registries: list[RegistryProfile] = Field(
        default_factory=list, description="Namespace-scoped registry profiles built into Kubernetes bundles."
    )

    @field_validator("last_updated", mode="before")
    @classmethod
    def _not_a_number(cls, value: Any) -> Any:
        # pydantic would read a number, or a text of digits, as seconds since 1970, which the editor's schema refuses.
        if isinstance(value, (int, float)) or (isinstance(value, str) and _SECONDS.fullmatch(value)):
            raise ValueError(f"must be an RFC 3339 date-time such as 2026-11-01T00:00:00Z, not {_as_written(value)}")
        return value

    @field_validator("last_updated")
    @classmethod
    def _needs_timezone(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a time zone, e.g. 2026-11-01T00:00:00Z")
        return value.astimezone(dt.timezone.utc)


# --- servers/<name>.yaml --------------------------------------------------------


class EnvVar(Strict):
    """An environment variable the server reads; secrets are referenced by name, never stored."""

    name: str = Field(pattern=ENV_NAME, max_length=128, description="Variable name (letters, digits, underscore).")
    description: Text = Field(default="", max_length=500, description="What the variable controls.")
    required: Flag = Field(default=False, description="The server does not work without it.")
    secret: Flag = Field(default=False, description="Holds a credential: delivered from a Kubernetes Secret.")
    default: str | None = Field(default=None, max_length=1000, description="Value used when none is given.")
    profiles: dict[DnsLabel, Annotated[str, StringConstraints(max_length=1000)]] = Field(
        default_factory=dict,
        description="Value the variable must have in a registry profile's namespace, by profile name: the "
        "profile's bundle sets it and its admission policy refuses the server without it.",
    )

    model_config = ConfigDict(json_schema_extra=rules(
        rule("a secret variable carries no default value and no profile values: its value comes from the Secret",
             when={"required": ["secret"], "properties": {"secret": {"const": True}}},
             then={"properties": {"default": null(), "profiles": {"maxProperties": 0}}}),
    ))

    @model_validator(mode="after")
    def _secret_has_no_default(self) -> EnvVar:
        if self.secret:
            self._refuse_at([*([(("default",), "a secret variable must not carry a default value")] if self.default is not None else []),
                         *([(("profiles",), "a secret variable must not carry profile values: its value comes from the Secret")]
                           if self.profiles else [])])
        return self


class Outbound(Strict):
    """Egress the server needs, in ToolHive's permission-profile shape."""

    allow_host: list[Annotated[str, StringConstraints(pattern=HOST, max_length=253)]] = Field(
        default_factory=list, description="Hosts it may reach; a leading dot admits every subdomain."
    )
    allow_port: list[Port] = Field(default_factory=list, description="TCP ports it may reach on those hosts.")
    insecure_allow_all: Flag = Field(default=False, description="It may reach any host on any port.")


class Network(Strict):
    """Network permissions."""

    outbound: Outbound = Field(default_factory=Outbound, description="Outbound (egress) permissions.")


AbsPath = Annotated[str, StringConstraints(pattern=r"^(/[^/\x00]+)+/?$", max_length=4096)]


class Permissions(Strict):
    """What the server's container may touch: network egress and file paths."""

    network: Network | None = Field(default=None, description="Network access; absent means not declared.")
    read: list[AbsPath] = Field(default_factory=list, description="Absolute paths it reads.")
    write: list[AbsPath] = Field(default_factory=list, description="Absolute paths it writes.")

    @field_validator("read", "write")
    @classmethod
    def _no_dot_segments(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if {".", ".."} & set(path.split("/")):
                raise ValueError(f"'{path}' has a '.' or '..' segment: write the absolute path out")
        return paths


class ResourceAmounts(Strict):
    """CPU and memory amounts as Kubernetes quantities."""

    cpu: Quantity | None = Field(default=None, description="CPU, e.g. 100m or 1.")
    memory: Quantity | None = Field(default=None, description="Memory, e.g. 128Mi.")


class Resources(Strict):
    """Container resource requests and limits."""

    requests: ResourceAmounts = Field(default_factory=ResourceAmounts, description="Guaranteed amounts.")
    limits: ResourceAmounts = Field(default_factory=ResourceAmounts, description="Upper bounds.")


class Header(Strict):
    """An HTTP header a client sends to a remote server."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", max_length=128, description="Header name (an HTTP token)."
    )
    description: Text = Field(default="", max_length=500, description="What the header carries.")
    required: Flag = Field(default=False, description="The remote refuses requests without it.")
    secret: Flag = Field(default=False, description="Carries a credential.")


class Remote(Strict):
    """A server hosted elsewhere and reached over HTTP (SaaS)."""

    url: HttpUrl = Field(description="Endpoint URL of the remote MCP server.")
    headers: list[Header] = Field(default_factory=list, description="Headers clients must send.")



class Package(Strict):
    """A package published to a language registry (npm, PyPI, NuGet) rather than as a container image.

    Servers known only by packages are reference entries: listed and searchable,
    but not deployable by the ToolHive operator, so bundles and ToolHive files skip them.
    """

    registry_type: Literal["npm", "pypi", "nuget", "mcpb", "cargo"] = Field(description="Package registry kind.")
    identifier: str = Field(min_length=1, max_length=255, pattern=r"^[^\s]+$", description="Package name in that registry.")
    version: str | None = Field(default=None, max_length=255, pattern=r"^[^\s]+$", description="Package version.")
    registry_base_url: HttpUrl | None = Field(default=None, description="Registry URL, when not the public default.")

    _version = field_validator("version")(_specific_version)


class ToolAnnotations(Strict):
    """Behaviour hints, as MCP tool definitions carry them."""

    readOnlyHint: Flag | None = Field(default=None, description="The tool does not modify its environment.")
    destructiveHint: Flag | None = Field(default=None, description="The tool may destroy or overwrite data.")
    idempotentHint: Flag | None = Field(default=None, description="Calling it twice has no further effect.")
    openWorldHint: Flag | None = Field(default=None, description="It interacts with the open internet or outside entities.")


class ToolOverride(Strict):
    """How the catalog renames or redescribes a tool when deployed (MCPToolConfig toolsOverride)."""

    name: str | None = Field(default=None, pattern=TOOL_NAME, description="Name clients see instead.")
    description: Text | None = Field(default=None, max_length=2000, description="Description clients see instead.")


class Tool(Strict):
    """A tool the server offers."""

    name: str = Field(pattern=TOOL_NAME, description="Tool name as the server reports it.")
    description: Text = Field(min_length=1, max_length=2000, description="What the tool does.")
    annotations: ToolAnnotations | None = Field(default=None, description="Behaviour hints; absent means not declared.")
    input_schema: Annotated[dict[str, Any] | None, MultiLine()] = Field(
        default=None, description="JSON Schema of the tool's arguments, as the MCP tool definition carries it."
    )
    override: ToolOverride | None = Field(default=None, description="Rename or redescribe the tool when deployed.")

    @property
    def deployed_name(self) -> str:
        """The name clients see after any override (what MCPToolConfig filters on)."""
        return self.override.name if self.override and self.override.name else self.name


class Provenance(Strict):
    """Supply-chain provenance, as ToolHive records it (Sigstore)."""

    sigstore_url: str | None = Field(default=None, description="Sigstore TUF repository host.")
    repository_uri: str | None = Field(default=None, description="Repository the image was built from.")
    repository_ref: str | None = Field(default=None, description="Git reference it was built from.")
    signer_identity: str | None = Field(default=None, description="Identity (e.g. workflow path) that signed it.")
    runner_environment: str | None = Field(default=None, description="Where it was built, e.g. github-hosted.")
    cert_issuer: str | None = Field(default=None, description="Certificate issuer of the signing identity.")


class Review(Strict):
    """The organisation's approval record for this server."""

    status: Literal["approved", "under-review", "rejected"] = Field(description="Outcome of the review.")
    by: str | None = Field(default=None, max_length=200, description="Who decided (person or board).")
    date: Date | None = Field(default=None, description="When it was decided.")
    expires: Date | None = Field(default=None, description="When the approval must be renewed.")
    notes: Text = Field(default="", max_length=2000, description="Conditions or reasons.")

    # `expires` not before `date` compares two values, which JSON Schema cannot.
    model_config = ConfigDict(json_schema_extra=rules(
        rule("an approved review needs `by` and `date`",
             when={"required": ["status"], "properties": {"status": {"const": "approved"}}},
             then={"required": ["by", "date"], "properties": {"by": {**not_null(), "minLength": 1}, "date": not_null()}}),
    ))

    @model_validator(mode="after")
    def _approval_is_signed(self) -> Review:
        if self.status == "approved" and not (self.by and self.date):
            # At the first field missing: a `date` the YAML reading refused (2026-13-10) is reported
            # already, and this rule's message about it is then left out (no cascade).
            self._refuse_at([(("by",) if not self.by else ("date",), "an approved review needs `by` and `date`")])
        if self.expires and self.date and self.expires < self.date:
            self._refuse_at([(("expires",), "`expires` is before `date`")])
        return self


class Example(Strict):
    """A prompt showing what the server is good for."""

    prompt: Text = Field(min_length=1, max_length=500, description="What a user might ask.")
    description: Text = Field(default="", max_length=500, description="What happens.")


SHAPE_FIELDS = ("image", "remote", "packages", "transport", "port", "digest", "permissions", "resources", "provenance",
                "args")
"""The fields that make a server a container, a remote or a reference entry (see `shape_problems`)."""


def shape_problems(values: Mapping[str, Any], faulty: frozenset[str] = frozenset()) -> list[tuple[tuple[str, ...], str]]:
    """What keeps a server's `SHAPE_FIELDS` from making it exactly one of a container (`image`), a
    remote (`remote`) or a reference entry (`packages`), each with the field to blame (() for the file).

    Takes plain values, so that the loader can also judge a file whose other fields are invalid (a
    model validator runs only when every field is valid) and report every problem in one run; a
    rule reading one of the `faulty` fields (invalid, reported already) is not judged."""
    def given(name: str) -> bool:  # an empty mapping is given (`permissions: {}` makes an object), an empty list is not
        value = values.get(name)
        return value is not None and value != [] and value != ()

    def judged(*names: str) -> bool:
        return faulty.isdisjoint(names)

    image, remote, packages = given("image"), given("remote"), given("packages")
    if judged("image", "remote") and image and remote:
        return [(("remote",), "a server has either `image` (container) or `remote`, not both")]
    if judged("image", "remote", "packages") and not (image or remote or packages):
        return [((), "a server needs `image` (container) or `remote` (hosted elsewhere)")]
    if judged("image", "remote", "packages") and packages and (image or remote):
        return [(("packages",), "`packages` is for reference entries that have neither `image` nor `remote`")]
    if judged("remote") and remote:
        problems = [((name,), f"a remote server runs no container, so it has no `{name}` (a container field)")
                    for name in ("digest", "port", "permissions", "resources", "provenance", "args")
                    if judged(name) and given(name)]
        if judged("transport") and values.get("transport") == "stdio":
            problems.append((("transport",), "a remote server is reached over sse or streamable-http, not stdio"))
        return problems
    if judged("image", "transport", "port") and image and values.get("transport") == "stdio" and values.get("port") is not None:
        return [(("port",), "`port` is for sse and streamable-http servers; a stdio server has none")]
    return []


class Server(Strict):
    """One curated MCP server, read from `servers/<name>.yaml`."""

    name: DnsLabel = Field(description="Identifier: a DNS-1123 label equal to the file stem.")
    title: str = Field(min_length=1, max_length=80, description="Display name.")
    description: OneLine = Field(description="One line, at most 100 characters (the MCP server.json limit).")
    version: str = Field(
        min_length=1, max_length=255, pattern=r"^[^\s]+$", description="Version of the server: one specific version, never `latest` or a range."
    )
    category: DnsLabel = Field(description="Slug of a category declared in catalog.yaml.")
    tags: list[Tag] = Field(default_factory=list, description="Lower-case search tags.")
    tier: Literal["validated", "community"] = Field(
        description="validated: vetted by the catalog team; community: listed as published upstream."
    )
    status: Literal["active", "deprecated"] = Field(default="active", description="Lifecycle state.")
    replaced_by: DnsLabel | None = Field(
        default=None, description="Name of the catalog server to use instead (deprecated servers); linked from its page."
    )
    publisher: str = Field(default="", max_length=120, description="Who builds and maintains the server.")
    registry_name: str | None = Field(
        default=None,
        pattern=r"^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$",
        description="Full MCP registry name (reverse-DNS/name); default: <catalog namespace>/<name>.",
    )

    _version = field_validator("version")(_specific_version)

    @field_validator("registry_name")
    @classmethod
    def _served_as_folders(cls, value: str | None) -> str | None:
        # The mirror serves each name as folders: a '.' or '..' part would collapse or climb.
        if value is not None and {".", ".."} & set(value.split("/")):
            raise ValueError("a part of the registry name may not be '.' or '..'")
        return value
    repository: HttpUrl | None = Field(default=None, description="Source repository URL.")
    license: str | None = Field(default=None, max_length=100, description="SPDX license identifier.")
    updated: Date | None = Field(default=None, description="When this entry last changed; default: catalog last_updated.")
    transport: Literal["stdio", "sse", "streamable-http"] = Field(description="How clients talk to the server.")
    image: Annotated[str, Field(max_length=512, json_schema_extra=IMAGE_WITHOUT_DIGEST_SCHEMA)] | None = Field(
        default=None, description="Container image reference (registry/path:tag)."
    )
    digest: str | None = Field(default=None, pattern=DIGEST, description="Image digest: sha256: and 64 hex digits.")
    port: Port | None = Field(default=None, description="Port the container listens on (HTTP transports).")
    args: list[Annotated[str, StringConstraints(max_length=1000)]] = Field(
        default_factory=list, description="Arguments passed to the container."
    )
    env: list[EnvVar] = Field(default_factory=list, description="Environment variables it reads.")
    permissions: Permissions | None = Field(default=None, description="What the container may touch; absent means not declared.")
    resources: Resources | None = Field(default=None, description="Container CPU and memory.")
    remote: Remote | None = Field(default=None, description="The endpoint, for a server hosted elsewhere.")
    packages: list[Package] = Field(
        default_factory=list,
        description="Language-registry packages, for a reference entry that has neither image nor remote.",
    )
    tools: list[Tool] = Field(default_factory=list, description="The tools it offers.")
    provenance: Provenance | None = Field(default=None, description="Supply-chain provenance of the image.")
    examples: list[Example] = Field(default_factory=list, description="Example prompts.")
    review: Review | None = Field(default=None, description="The organisation's approval record.")

    @field_validator("image")
    @classmethod
    def _image_reference(cls, value: str | None) -> str | None:
        if value is not None:
            match = IMAGE_REF.fullmatch(value)
            if not match:
                raise ValueError("is not a valid image reference (expected registry/path:tag)")
            if match.group("digest"):
                raise ValueError("put the digest in the `digest` field, not in the image reference")
        return value

    # `_container_or_remote` as the editor's schema states it, with two rules `validate` applies across
    # files whose verdict one file settles: a `replaced_by` (which must name another server) is refused
    # on a server not deprecated, and an env var's `profiles` (which must name declared profiles) on a
    # server that is not a container.
    model_config = ConfigDict(json_schema_extra=rules(
        exactly_one("a server has exactly one of `image` (container), `remote` (hosted elsewhere) and `packages` "
                    "(a reference entry)",
                    given("image"), given("remote"), {"required": ["packages"], "properties": {"packages": {"minItems": 1}}}),
        rule("a remote server has no container fields (digest, port, args, permissions, resources, provenance) "
             "and is reached over sse or streamable-http, not stdio",
             when=given("remote"),
             then={"properties": {**{field: null() for field in ("digest", "port", "permissions", "resources", "provenance")},
                                  "args": {"maxItems": 0}, "transport": {"enum": ["sse", "streamable-http"]}}}),
        rule("`port` is for sse and streamable-http servers; a stdio server has none",
             when={"required": ["image", "transport"], "properties": {"image": not_null(), "transport": {"const": "stdio"}}},
             then={"properties": {"port": null()}}),
        rule("only a deprecated server has a replacement: set `status: deprecated` or remove `replaced_by`",
             when=given("replaced_by"),
             then={"required": ["status"], "properties": {"status": {"const": "deprecated"}}}),
        rule("a remote or reference server runs no container of the bundles, so no profile can set its environment",
             when={"not": given("image")},
             then={"properties": {"env": {"items": {"properties": {"profiles": {"maxProperties": 0}}}}}}),
    ))

    @classmethod
    def problems_despite_errors(cls, data: Mapping[str, Any], faulty: frozenset[str]) -> list[tuple[tuple[str, ...], str]]:
        return shape_problems(data, faulty)

    @model_validator(mode="after")
    def _container_or_remote(self) -> Server:
        self._refuse_at(shape_problems({name: getattr(self, name) for name in SHAPE_FIELDS}))
        return self

    @model_validator(mode="after")
    def _share_repeated_parts(self) -> Server:
        # A catalog holds hundreds of thousands of tools, mostly with one of a few annotation
        # sets: each gets the one shared (frozen) annotations object and set of given fields,
        # instead of copies (a third of a 10,000-server catalog's memory).
        for tool in self.tools:
            fields = tool.__pydantic_fields_set__
            object.__setattr__(tool, "__pydantic_fields_set__", _FIELDS_SETS.setdefault(frozenset(fields), fields))
            hints = tool.annotations
            if hints is not None:
                tool.__dict__["annotations"] = _ANNOTATIONS.setdefault(tuple(hints.__dict__.values()), hints)
        return self

    @property
    def is_remote(self) -> bool:
        """True for a server hosted elsewhere, False for a container run in the cluster."""
        return self.remote is not None

    @property
    def kind(self) -> Literal["container", "remote", "reference"]:
        """container: runs in the cluster; remote: hosted elsewhere; reference: packages only, not deployable."""
        if self.image:
            return "container"
        return "remote" if self.remote else "reference"


_FIELDS_SETS: dict[frozenset[str], set[str]] = {}
_ANNOTATIONS: dict[tuple[bool | None, ...], ToolAnnotations] = {}


class Catalog(BaseModel):
    """The validated catalog in memory: metadata, servers sorted by name, and overviews."""

    model_config = ConfigDict(frozen=True)

    meta: CatalogMeta
    servers: tuple[Server, ...]
    overviews: dict[str, str] = Field(default_factory=dict, description="Markdown overview per server name.")

    def server(self, name: str) -> Server:
        """The server called `name` (KeyError if there is none)."""
        for server in self.servers:
            if server.name == name:
                return server
        raise KeyError(name)
