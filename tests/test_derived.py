"""Facts every renderer shares: profile membership, tool policy, review state, image references."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from conftest import CATALOG_YAML, FETCH_YAML, REMOTE_YAML
from generator import derived
from generator.models import RegistryProfile
from generator.source.validate import read_catalog

REVIEWS = {
    "approved": "review:\n  status: approved\n  by: Board\n  date: 2026-01-01\n  expires: 2027-01-01\n",
    "expired": "review:\n  status: approved\n  by: Board\n  date: 2025-01-01\n  expires: 2026-01-01\n",
    "rejected": "review:\n  status: rejected\n",
}


def server_file(name: str, *, tier: str = "community", extra: str = "", tags: str = "[web, http]") -> str:
    return (
        FETCH_YAML.replace("name: fetch", f"name: {name}")
        .replace("tier: validated", f"tier: {tier}")
        .replace("tags: [web, http]", f"tags: {tags}")
        + extra
    )


@pytest.fixture
def catalog(write_tree):
    source = write_tree(
        {
            "alpha.yaml": server_file("alpha", tier="validated", extra=REVIEWS["approved"]),
            "bravo.yaml": server_file("bravo", tier="validated", extra=REVIEWS["expired"]),
            "charlie.yaml": server_file("charlie", extra=REVIEWS["rejected"] + "status: deprecated\n"),
            "delta.yaml": server_file("delta", tags="[web, internal]"),
            "docs-remote.yaml": REMOTE_YAML,
        }
    )
    return read_catalog(source).catalog


def profile(text: str) -> RegistryProfile:
    import yaml

    return RegistryProfile.model_validate(yaml.safe_load(textwrap.dedent(text)))


def names(servers) -> list[str]:
    return [s.name for s in servers]


def test_review_states_are_judged_at_last_updated(catalog):
    states = {s.name: derived.review_state(catalog.meta, s) for s in catalog.servers}
    assert states == {
        "alpha": "approved",
        "bravo": "expired",
        "charlie": "rejected",
        "delta": "not-reviewed",
        "docs-remote": "not-reviewed",
    }


def test_profile_without_include_admits_every_active_server(catalog):
    assert names(derived.profile_servers(catalog, profile("name: all\nnamespace: ns"))) == [
        "alpha", "bravo", "delta", "docs-remote",
    ]


def test_profile_include_exclude_deprecated_and_approval(catalog):
    validated = profile("name: p\nnamespace: ns\ninclude: {tiers: [validated]}")
    assert names(derived.profile_servers(catalog, validated)) == ["alpha", "bravo"]
    approved = profile("name: p\nnamespace: ns\ninclude: {tiers: [validated]}\napproved_only: true")
    assert names(derived.profile_servers(catalog, approved)) == ["alpha"]
    excluded = profile("name: p\nnamespace: ns\nexclude: {tags: [internal], names: [bravo]}")
    assert names(derived.profile_servers(catalog, excluded)) == ["alpha", "docs-remote"]
    with_deprecated = profile("name: p\nnamespace: ns\ninclude: {categories: [web]}\ninclude_deprecated: true")
    assert names(derived.profile_servers(catalog, with_deprecated)) == ["alpha", "bravo", "delta"]


def test_no_profile_admits_a_rejected_server(write_tree):
    source = write_tree({
        "charlie.yaml": server_file("charlie", extra=REVIEWS["rejected"]),
        "echo.yaml": server_file("echo", extra="status: deprecated\n"),
    })
    catalog = read_catalog(source).catalog
    everything = profile("name: p\nnamespace: ns\ninclude: {names: [charlie, echo]}\ninclude_deprecated: true")
    assert names(derived.profile_servers(catalog, everything)) == ["echo"]
    assert derived.profiles_admitting(catalog.meta, catalog.server("charlie")) == ()


def test_tool_policy_drops_by_annotation_and_name(write_tree):
    tools = textwrap.dedent(
        """\
        - name: wipe
          description: Deletes everything.
          annotations: {destructiveHint: true}
        - name: peek
          description: Looks.
          override: {name: look}
        """
    )
    source = write_tree({"fetch.yaml": FETCH_YAML + textwrap.indent(tools, "  ")})
    server = read_catalog(source).catalog.server("fetch")
    safe = profile("name: p\nnamespace: ns\ntools: {exclude_annotations: [destructiveHint]}")
    assert [t.name for t in derived.profile_tools(safe, server)] == ["fetch"]  # peek does not say it is harmless
    by_deployed_name = profile("name: p\nnamespace: ns\ntools: {exclude_names: [look]}")
    assert [t.name for t in derived.profile_tools(by_deployed_name, server)] == ["fetch", "wipe"]


def test_deploy_image_pins_and_rewrites_to_the_mirror(catalog):
    alpha = catalog.server("alpha")
    digest = "sha256:" + "0" * 63 + "1"
    assert derived.deploy_image(catalog.meta, alpha) == f"ghcr.io/stackloklabs/gofetch/server:1.0.3@{digest}"
    assert (
        derived.deploy_image(catalog.meta, alpha, "mirror.corp:5000/mcp")
        == f"mirror.corp:5000/mcp/stackloklabs/gofetch/server:1.0.3@{digest}"
    )
    assert derived.deploy_image(catalog.meta, catalog.server("docs-remote")) is None


def test_registry_name_and_updated_defaults(catalog):
    alpha = catalog.server("alpha")
    assert derived.registry_name(catalog.meta, alpha) == "com.example.test/alpha"
    assert str(derived.updated(catalog.meta, alpha)) == "2026-11-01"


def test_tools_share_equal_annotations_and_copies_stay_apart() -> None:
    """Servers share one object per distinct annotation set and per set of given tool fields (memory);
    since the models are frozen, nobody can tell, and a copy with changes gets its own."""
    from generator.models import Server

    def server(name: str) -> Server:
        return Server.model_validate({
            "name": name, "title": name, "description": "A server.", "version": "1.0.0", "category": "web",
            "tier": "community", "transport": "stdio", "image": f"ghcr.io/example/{name}:1.0.0",
            "tools": [
                {"name": "read", "description": "Reads.", "annotations": {"readOnlyHint": True}},
                {"name": "wipe", "description": "Wipes.", "annotations": {"destructiveHint": True}},
            ],
        })

    one, two = server("one"), server("two")
    assert one.tools[0].annotations is two.tools[0].annotations
    assert one.tools[1].annotations is not one.tools[0].annotations
    assert one.tools[1].annotations.destructiveHint is True and one.tools[1].annotations.readOnlyHint is None
    assert one.tools[0].__pydantic_fields_set__ is two.tools[0].__pydantic_fields_set__
    renamed = one.tools[0].model_copy(update={"override": None})
    assert renamed.__pydantic_fields_set__ == {"name", "description", "annotations", "override"}
    assert two.tools[0].__pydantic_fields_set__ == {"name", "description", "annotations"}
    assert two.tools[0].model_dump(exclude_unset=True) == {"name": "read", "description": "Reads.", "annotations": {"readOnlyHint": True}}


def test_notices_say_what_to_heed_as_of_the_catalog_date(catalog) -> None:
    meta = catalog.meta  # last_updated 2026-11-01
    kinds = {server.name: [notice.kind for notice in derived.notices(meta, server)] for server in catalog.servers}
    assert kinds["alpha"] == ["expiring"]  # expires 2027-01-01: 61 days after the catalog date
    assert kinds["bravo"] == ["expired"]
    assert kinds["charlie"] == ["rejected", "deprecated", "community"]
    assert kinds["delta"] == ["community"]
    assert not derived.deployable(meta, catalog.server("charlie")) and derived.deployable(meta, catalog.server("bravo"))
    assert not derived.installable(meta, catalog.server("charlie")) and derived.installable(meta, catalog.server("bravo"))
    assert [server.name for server in derived.installable_servers(catalog)] == [s.name for s in catalog.servers if s.name != "charlie"]
    alpha = catalog.server("alpha")
    assert alpha.review is not None

    def expiring_on(day: dt.date) -> tuple[derived.Notice, ...]:
        return derived.notices(meta, alpha.model_copy(update={"review": alpha.review.model_copy(update={"expires": day})}))

    last_day = meta.last_updated.date() + derived.EXPIRY_WARNING
    assert [n.kind for n in expiring_on(last_day)] == ["expiring"]  # the 90th day still warns
    assert expiring_on(last_day + dt.timedelta(days=1)) == ()
    rejected = derived.notices(meta, catalog.server("charlie"))[0]
    assert rejected.message == ("Rejected by the review board. Do not deploy it: no registry file, MCP mirror or image list "
                                "offers it; its bundle stays in the release for audit only.")


@pytest.mark.parametrize(("annotations", "destructive", "open_world"), [
    ("", True, True),  # no annotations: MCP's defaults
    ("annotations: {}", True, True),
    ("annotations: {readOnlyHint: false}", True, True),
    ("annotations: {readOnlyHint: true}", False, True),  # a read-only tool destroys nothing
    ("annotations: {readOnlyHint: true, openWorldHint: false}", False, False),
    ("annotations: {destructiveHint: false}", False, True),
    ("annotations: {readOnlyHint: true, destructiveHint: true}", True, True),  # as declared
    ("annotations: {idempotentHint: true, openWorldHint: false}", True, False),
])
def test_a_tool_policy_reads_undeclared_hints_as_mcp_defaults_them(write_tree, annotations, destructive, open_world):
    """A tool that does not say it is harmless is withheld by a profile that withholds destructive or
    open-world tools (MCP's tool annotations default both hints to true), and the server page says why."""
    tool = "- name: act\n  description: Acts.\n" + (f"  {annotations}\n" if annotations else "")
    source = write_tree({"fetch.yaml": FETCH_YAML + textwrap.indent(tool, "  ")})
    server = read_catalog(source).catalog.server("fetch")
    for hint, withheld in (("destructiveHint", destructive), ("openWorldHint", open_world)):
        policy = profile(f"name: p\nnamespace: ns\ntools: {{exclude_annotations: [{hint}]}}")
        assert ("act" not in [t.name for t in derived.profile_tools(policy, server)]) == withheld, hint
        assert derived.withheld_by(policy, server.tools[-1]) == ([hint] if withheld else []), hint


def test_a_server_declaring_no_tools_is_not_offered_where_tools_are_withheld_by_hint(write_tree):
    """Its unknown tools may each be destructive: a profile withholding by hints cannot ship it with
    every tool; validate says so, and a profile without such a policy still offers it."""
    text = FETCH_YAML[:FETCH_YAML.index("tools:")]
    source = write_tree({"fetch.yaml": text, "fetch.md": "x"})
    validated = read_catalog(source)
    server = validated.catalog.server("fetch")
    assert not server.tools
    safe = profile("name: p\nnamespace: ns\ntools: {exclude_annotations: [destructiveHint]}")
    assert not derived.offers(safe, server)
    assert derived.offers(profile("name: q\nnamespace: ns2"), server)
    assert derived.offers(profile("name: r\nnamespace: ns3\ntools: {exclude_names: [x]}"), server)


def test_validate_warns_of_a_server_declaring_no_tools_under_a_hint_policy(write_tree):
    catalog = CATALOG_YAML.replace("    include:\n      tiers: [validated]\n",
                                   "    include:\n      tiers: [validated]\n    tools:\n      exclude_annotations: [destructiveHint]\n")
    text = FETCH_YAML[:FETCH_YAML.index("tools:")]
    source = write_tree({"fetch.yaml": text, "fetch.md": "x"}, catalog=catalog)
    warnings = [w for w in read_catalog(source).warnings if w.field == "tools"]
    assert [w.message for w in warnings] == [
        "registry profile 'production' admits 'fetch' but leaves it out: it withholds tools by destructiveHint and 'fetch' "
        "declares no tools (it would run with every tool it has); declare its tools"]


def test_a_reference_entry_declaring_no_tools_stays_listed_under_a_hint_policy(write_tree):
    """A reference entry runs nothing here: a hint policy has no tool to withhold, and it stays in the registries."""
    reference = REMOTE_YAML.replace(
        "remote:\n  url: https://mcp.example.com/mcp\n",
        "packages:\n  - registry_type: npm\n    identifier: '@example/docs-mcp'\n    version: 2.0.0\n",
    )
    reference = reference[:reference.index("tools:")] if "tools:" in reference else reference
    source = write_tree({"docs-remote.yaml": reference, "docs-remote.md": "x"})
    validated = read_catalog(source)
    server = validated.catalog.server("docs-remote")
    assert server.kind == "reference" and not server.tools
    safe = profile("name: p\nnamespace: ns\ntools: {exclude_annotations: [destructiveHint]}")
    assert derived.offers(safe, server)
    assert not [w for w in validated.warnings if w.field == "tools"]
