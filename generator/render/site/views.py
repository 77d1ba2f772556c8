"""What the site says about one server, in words: badges, the "may touch" summary, tool behaviour.

These are plain data built from the validated model and `generator.derived`;
the templates only lay them out. Nothing here escapes or formats HTML: every
string is text, and Jinja's autoescape makes it inert on the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import urlsplit

from generator import derived, paths
from generator.models import CatalogMeta, RegistryProfile, Server, Tool
from generator.render.site.drawn import Drawing, Partial, text_or_empty

APPROVALS = {"approved": "Approved", "under-review": "Under review", "expired": "Approval expired",
             "rejected": "Rejected", "not-reviewed": "Not reviewed"}
TRANSPORTS = {"stdio": "stdio", "sse": "SSE", "streamable-http": "Streamable HTTP"}
# An approval expiring within this many days of the catalog's date is "expiring soon" (a facet and a search term).
EXPIRY_SOON_DAYS = derived.EXPIRY_WARNING.days  # one rule for the facet, the search and the notices
# Tones a badge can have; the stylesheet colours them, the text always says the state too.
GOOD, WARN, BAD = "good", "warn", "bad"


@dataclass(frozen=True)
class Badge:
    """A badge: a short label, a sentence explaining it, and its glossary anchor on the about page."""

    label: str
    explanation: str
    tone: str
    glossary: str


@dataclass(frozen=True)
class Fact:
    """One line of the "What this server may touch" summary; `undeclared` marks an absence."""

    topic: str
    text: str
    undeclared: bool = False


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value else "an unrecorded date"


def tier_badge(server: Server) -> Badge:
    """Validated or community, with what that means."""
    if server.tier == "validated":
        return Badge("Validated", "Vetted by the catalog team.", GOOD, "glossary-tier")
    return Badge("Community", "Listed as published upstream; not vetted by the catalog team.", WARN, "glossary-tier")


def isolated(text: str) -> str:
    """`text` between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE: inside a sentence of ours, a
    name written right to left (or holding an unclosed U+202E) is laid out on its own and leaves the
    sentence's words in their order, as `<bdi>` does in markup (the sentence is one text here)."""
    return f"\u2068{text}\u2069"


def approval_badge(meta: CatalogMeta, server: Server) -> Badge:
    """The review state as of the catalog's last update, with who decided and when."""
    state = derived.review_state(meta, server)
    review = server.review
    if state == "approved" and review is not None:
        text = f"Approved by {isolated(review.by or '')} on {_date(review.date)}"
        text += f", expires {review.expires.isoformat()}." if review.expires else ", no expiry set."
        return Badge("Approved", text, GOOD, "glossary-approval")
    if state == "expired" and review is not None:
        return Badge("Approval expired", f"Approved by {isolated(review.by or '')}; the approval expired on {_date(review.expires)}.",
                     BAD, "glossary-approval")
    if state == "rejected" and review is not None:
        who = f" by {isolated(review.by)}" if review.by else ""
        return Badge("Rejected", f"Rejected{who} on {_date(review.date)}.", BAD, "glossary-approval")
    if state == "under-review":
        return Badge("Under review", "The organisation has not decided yet.", WARN, "glossary-approval")
    return Badge("Not reviewed", "No approval record: the organisation has not reviewed it.", WARN, "glossary-approval")


def server_badges(meta: CatalogMeta, server: Server) -> list[Badge]:
    """Every badge of a server page, each explaining itself in both states."""
    badges = [tier_badge(server), approval_badge(meta, server)]
    if server.kind == "container":
        if server.digest:
            badges.append(Badge("Pinned by digest", "The image is referenced by its sha256 digest: it cannot change "
                                "under the same reference.", GOOD, "glossary-digest"))
        else:
            badges.append(Badge("Not pinned", "The image is referenced by tag only: the tag can be moved to other "
                                "content.", WARN, "glossary-digest"))
        if server.provenance:
            badges.append(Badge("Provenance recorded", "Where and how the image was built and signed is recorded.",
                                GOOD, "glossary-provenance"))
        else:
            badges.append(Badge("No provenance", "No build or signing provenance is recorded for the image.",
                                WARN, "glossary-provenance"))
    # Only a deprecation is a status worth a badge: a grey "Active" beside "Rejected" read as a contradiction.
    if server.status == "deprecated":
        badges.append(Badge("Deprecated", "Kept for existing users; do not deploy it anew.", BAD, "glossary-status"))
    return badges


def needs_no_egress(server: Server) -> bool:
    """True when a container declares network permissions that allow no outbound host at all."""
    permissions = server.permissions
    if server.kind != "container" or permissions is None or permissions.network is None:
        return False
    outbound = permissions.network.outbound
    return not outbound.allow_host and not outbound.insecure_allow_all


def _network_fact(server: Server) -> Fact:
    if server.kind == "remote" and server.remote is not None:
        parts = urlsplit(server.remote.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return Fact("Network", f"Your client sends requests to {parts.hostname}:{port}; "
                    "what the hosted service itself reaches is not declared.", undeclared=True)
    permissions = server.permissions
    if permissions is None or permissions.network is None:
        return Fact("Network", "Network access: not declared.", undeclared=True)
    outbound = permissions.network.outbound
    if outbound.insecure_allow_all:
        return Fact("Network", "May reach any host on any port (unrestricted egress).")
    if not outbound.allow_host:
        return Fact("Network", "No network access declared: it needs no egress.")
    hosts = [f"{host[1:]} and its subdomains" if host.startswith(".") else host for host in outbound.allow_host]
    if len(hosts) == 1 and len(outbound.allow_port) == 1 and not outbound.allow_host[0].startswith("."):
        return Fact("Network", f"Talks to {hosts[0]}:{outbound.allow_port[0]} only.")
    if not outbound.allow_port:
        # The generated NetworkPolicy opens only the declared ports, so none means none.
        return Fact("Network", f"Names {', '.join(hosts)}, but declares no port: the bundle's NetworkPolicy allows no egress.")
    ports = ", ".join(str(port) for port in outbound.allow_port)
    return Fact("Network", f"Talks to {', '.join(hosts)} only, on port {ports}.")


def _files_fact(server: Server) -> Fact:
    permissions = server.permissions
    if server.kind != "container":
        return Fact("Files", "Not applicable: it does not run in your cluster.")
    if permissions is None or not (permissions.read or permissions.write):
        return Fact("Files", "File access: not declared.", undeclared=True)
    reads = ", ".join(permissions.read) or "nothing declared"
    writes = ", ".join(permissions.write) or "nothing declared"
    return Fact("Files", f"Reads {reads}; writes {writes}.")


def secret_names(server: Server) -> list[str]:
    """The secrets a deployment must supply: secret environment variables, then secret headers."""
    names = [env.name for env in server.env if env.secret]
    if server.remote is not None:
        names += [f"header {header.name}" for header in server.remote.headers if header.secret]
    return names


def _secrets_fact(server: Server) -> Fact:
    names = secret_names(server)
    if not names:
        return Fact("Secrets", "No secrets declared.")
    return Fact("Secrets", f"Needs {len(names)} secret{'s' if len(names) > 1 else ''}: {', '.join(names)}.")


def _runs_fact(server: Server) -> Fact:
    if server.kind == "container":
        return Fact("Where it runs", "As a container in your cluster.")
    if server.kind == "remote":
        return Fact("Where it runs", "As a remote SaaS endpoint outside your network: data you send leaves it.")
    return Fact("Where it runs", "Nowhere yet: a reference entry known by its packages, not deployable here.")


@dataclass(frozen=True)
class Behaviour:
    """How many of a server's tools count as each behaviour: destructive and open-world as a
    registry profile's tool policy counts them (`derived.hinted`: an undeclared hint takes MCP's
    default), so a search for destructive servers finds every server a profile trims."""

    tools: int
    read_only: int
    destructive: int
    open_world: int
    unhinted: int
    """Tools without annotations."""
    defaulted: int
    """Tools counted destructive or open-world without declaring that hint."""


def behaviour_counts(server: Server) -> Behaviour:
    """The server's tools counted by behaviour (a tool without annotations counts as unhinted)."""
    tools = server.tools
    return Behaviour(
        tools=len(tools),
        read_only=sum(1 for tool in tools if tool.annotations and tool.annotations.readOnlyHint),
        destructive=sum(1 for tool in tools if derived.hinted(tool, "destructiveHint")),
        open_world=sum(1 for tool in tools if derived.hinted(tool, "openWorldHint")),
        unhinted=sum(1 for tool in tools if tool.annotations is None),
        defaulted=sum(1 for tool in tools
                      if derived.hinted_by_default(tool, "destructiveHint") or derived.hinted_by_default(tool, "openWorldHint")),
    )


Egress = Literal["none", "hosts", "any", "remote", "not-declared", "not-applicable"]


def egress(server: Server) -> tuple[Egress, list[str]]:
    """Where the server's traffic may go, as a kind and the hosts named.

    "remote": the client itself sends data to the endpoint's host, outside the network;
    "not-applicable": a reference entry, which does not run here.
    """
    if server.kind == "remote" and server.remote is not None:
        return "remote", [urlsplit(server.remote.url).hostname or ""]
    if server.kind != "container":
        return "not-applicable", []
    permissions = server.permissions
    if permissions is None or permissions.network is None:
        return "not-declared", []
    outbound = permissions.network.outbound
    if outbound.insecure_allow_all:
        return "any", list(outbound.allow_host)
    return ("hosts" if outbound.allow_host else "none"), list(outbound.allow_host)


def needs_egress(server: Server) -> bool:
    """True when traffic leaves the network: declared hosts, open egress, or a remote endpoint."""
    return egress(server)[0] in ("hosts", "any", "remote")


def _tools_fact(server: Server) -> Fact:
    tools = server.tools
    if not tools:
        return Fact("Tools", "Tools: not declared.", undeclared=True)
    counts = behaviour_counts(server)
    read_only, destructive, open_world, unhinted = counts.read_only, counts.destructive, counts.open_world, counts.unhinted
    text = (f"{len(tools)} tool{'s' if len(tools) != 1 else ''}: {read_only} read-only, {destructive} destructive, "
            f"{open_world} reach the open internet")
    if counts.defaulted:
        text += (f" ({counts.defaulted} of them by MCP's defaults: a tool that does not say otherwise "
                 "counts as destructive, unless read-only, and open-world)")
    if unhinted:
        text += f"; {unhinted} without behaviour hints (not declared)"
    return Fact("Tools", text + ".", undeclared=bool(unhinted))


def touch_summary(server: Server) -> list[Fact]:
    """The plain-words summary at the top of a server page; absences are said, never hidden."""
    return [_runs_fact(server), _network_fact(server), _files_fact(server), _secrets_fact(server), _tools_fact(server)]


def tool_behaviour(tool: Tool) -> list[str]:
    """A tool's annotations in words; an absent hint is said to be not declared."""
    hints = tool.annotations
    if hints is None:
        return ["behaviour not declared: destructive and open-world by MCP's defaults"]
    words = []
    if hints.readOnlyHint is not None:
        words.append("read-only" if hints.readOnlyHint else "modifies its environment")
    if hints.destructiveHint:
        words.append("destructive")
    elif derived.hinted_by_default(tool, "destructiveHint"):
        words.append("destructive (not declared: MCP's default)")
    if hints.idempotentHint:
        words.append("idempotent")
    if hints.openWorldHint:
        words.append("open-world")
    elif derived.hinted_by_default(tool, "openWorldHint"):
        words.append("open-world (not declared: MCP's default)")
    return words or ["no behaviour hints set"]


@dataclass(frozen=True)
class Parameter:
    """One argument of a tool, read from its `input_schema`."""

    name: str
    type: str
    required: bool
    description: str
    default: str


def tool_parameters(tool: Tool) -> list[Parameter]:
    """The tool's arguments from `input_schema.properties`, in the order the schema gives them."""
    schema = tool.input_schema or {}
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return []
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    parameters = []
    for name, spec in properties.items():
        spec = spec if isinstance(spec, dict) else {}
        kind = spec.get("type", "any")
        kind = " or ".join(str(k) for k in kind) if isinstance(kind, list) else str(kind)
        default = spec.get("default")
        parameters.append(Parameter(
            name=str(name),
            type=kind,
            required=name in required,
            description=str(spec.get("description", "")),
            default="" if default is None else str(default),
        ))
    return parameters


@dataclass(frozen=True)
class Card:
    """A server as one card in a list: text and state only, so that search.js can draw the same template.

    `_card.html` renders it on the pages and, once per variant, as a skeleton (every text a slot,
    see `card_drawing`) that search.js fills from the search data.
    """

    name: str
    title: str
    description: str
    publisher: str
    page: str
    category: str
    category_page: str
    tier: Badge
    approval: Badge
    expires: str
    transport: str
    tools: str
    """How many tools it declares (a number)."""
    tools_label: str
    """The same with its noun: "1 tool", "40 tools"."""
    kept_tools: str
    """On a registry profile's page, how many of them the profile's tool policy keeps (a number); empty elsewhere."""
    kept_tools_label: str
    """The same in words, "32 of 40 tools" ("40 tools" when it keeps every one, "40 tools, not shipped
    (every tool withheld)" when it keeps none, as its bundle then has no folder for it, see
    `derived.not_shipped`); empty off a profile's page."""
    updated: str
    status: str
    deprecated: bool
    notices: tuple[str, ...]
    """The kinds of `derived.notices`, most serious first; `_card.html` shows each kind's label."""


def _tools_label(count: int) -> str:
    return "1 tool" if count == 1 else f"{count} tools"


def _kept_tools_label(profile: RegistryProfile, server: Server) -> str:
    """What a profile offers of the server's tools: all of them, "32 of 40 tools", or none (then
    the profile's bundle does not ship the server: ToolHive would read an empty filter as every tool)."""
    declared = len(server.tools)
    because = derived.not_offered_because(profile, server)
    if because is not None:
        return f"{_tools_label(declared)}, {derived.not_shipped(because)}" if declared else derived.not_shipped(because)
    kept = len(derived.profile_tools(profile, server))
    return _tools_label(declared) if kept == declared else f"{kept} of {_tools_label(declared)}"


def card(meta: CatalogMeta, server: Server, profile: RegistryProfile | None = None) -> Card:
    """What the server's card in a list shows (rendered once per page depth, see site.py).

    On a registry profile's page (`profile`) the card also says how many tools that profile keeps.
    """
    titles = {category.slug: category.title for category in meta.categories}
    review = server.review
    kept = None if profile is None else len(derived.profile_tools(profile, server))
    return Card(
        name=server.name,
        title=server.title,
        description=server.description,
        publisher=server.publisher or "",
        page=paths.server_page(server.name),
        category=titles[server.category],
        category_page=paths.category_page(server.category),
        tier=tier_badge(server),
        approval=approval_badge(meta, server),
        expires=review.expires.isoformat() if review and review.expires and review.status == "approved" else "",
        transport=TRANSPORTS[server.transport],
        tools=str(len(server.tools)),
        tools_label=_tools_label(len(server.tools)),
        kept_tools="" if kept is None else str(kept),
        kept_tools_label="" if profile is None else _kept_tools_label(profile, server),
        updated=derived.updated(meta, server).isoformat(),
        status=server.status,
        deprecated=server.status == "deprecated",
        notices=tuple(notice.kind for notice in derived.notices(meta, server)),
    )


# The card's texts a script fills in (slots), beside the badges' label and explanation; the rest of a
# card (status, deprecated, notices, the badges' tones) is its variant.
CARD_TEXTS = ("name", "title", "description", "publisher", "page", "category", "category_page", "expires",
              "transport", "tools", "tools_label", "updated", "kept_tools", "kept_tools_label")


def card_drawing(card: Card) -> Drawing:
    """The card as search.js draws it: its variant is the card with each text a slot (or "" when
    empty), rendered once as a skeleton for every card alike (see generator.render.site.drawn)."""
    texts = {name: getattr(card, name) for name in CARD_TEXTS}
    for badge in ("tier", "approval"):
        texts[f"{badge}.label"] = getattr(card, badge).label
        texts[f"{badge}.explanation"] = getattr(card, badge).explanation
    skeleton = replace(
        card, **{name: text_or_empty(texts, name) for name in CARD_TEXTS},
        tier=replace(card.tier, label=text_or_empty(texts, "tier.label"), explanation=text_or_empty(texts, "tier.explanation")),
        approval=replace(card.approval, label=text_or_empty(texts, "approval.label"),
                         explanation=text_or_empty(texts, "approval.explanation")),
    )
    return Drawing(skeleton, texts)


CARD = Partial(
    "_card.html",
    "card." + ", card.".join(CARD_TEXTS) + ", card.tier.label, card.tier.explanation, card.approval.label, card.approval.explanation",
    "card.status, card.deprecated, card.notices, card.tier.tone and card.approval.tone",
    lambda skeleton: {"card": skeleton},
    one_element=True,
)
"""The index's cards: search.js draws a search's results from `_card.html`'s skeletons."""
