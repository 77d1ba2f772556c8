"""The validator's rules beyond types, each shown failing on a real file with its line."""

from __future__ import annotations

import pytest

from conftest import CATALOG_YAML, FETCH_YAML, REMOTE_YAML, synthetic_catalog
from generator.cli import main


def run(runner, source, *extra):
    result = runner.invoke(main, ["validate", "--source", str(source), *extra])
    assert "Traceback" not in result.output
    return result.exit_code, result.output.strip().splitlines()


def fetch_with(replace: str, by: str) -> str:
    assert replace in FETCH_YAML
    return FETCH_YAML.replace(replace, by)


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ("name: fetch", "name: fetcher", "fetch.yaml:1: name: 'fetcher' must equal the file name 'fetch'"),
        ("name: fetch", "name: Fetch", "fetch.yaml:1: name: must be a DNS-1123 label"),
        ("category: web", "category: webs", "fetch.yaml:5: category: unknown category 'webs'; declared in catalog.yaml: data, web"),
        ("image: ghcr.io/stackloklabs/gofetch/server:1.0.3", "image: ghcr.io/Bad Image", "fetch.yaml:12: image: is not a valid image reference"),
        ("image: ghcr.io/stackloklabs/gofetch/server:1.0.3",
         "image: ghcr.io/x/y@sha256:" + "a" * 64, "fetch.yaml:12: image: put the digest in the `digest` field"),
        ("digest: sha256:0000000000000000000000000000000000000000000000000000000000000001", "digest: sha256:abc",
         "fetch.yaml:13: digest: must be 'sha256:' followed by 64 lower-case hex digits"),
        ("port: 8080", "port: 0", "fetch.yaml:14: port: input should be greater than or equal to 1"),
        ("repository: https://github.com/stackloklabs/gofetch", "repository: javascript:alert(1)",
         "fetch.yaml:9: repository: must be an http:// or https:// URL"),
        ("tier: validated", "tier: gold", "fetch.yaml:7: tier: must be one of 'validated' or 'community', not 'gold'"),
        ("version: 1.0.3", "version: 1.0", "fetch.yaml:4: version: must be a string; YAML read 1.0 as a number: write it in quotes, \"1.0\""),
        ("version: 1.0.3", "version: 1.10", "fetch.yaml:4: version: must be a string; YAML read 1.10 as the number 1.1: write it in quotes, \"1.10\""),
        ("version: 1.0.3", "version: 2_0  # 20", "fetch.yaml:4: version: must be a string; YAML read 2_0 as the number 20: write it in quotes, \"2_0\""),
        ("tags: [web, http]", "tags: [1.1, 1.10]", "fetch.yaml:6: tags[1]: must be a string; YAML read this value as a number: put it in quotes, as you wrote it"),
        ("description: Fetches web pages and returns them as Markdown.", "description: " + "x" * 101,
         "fetch.yaml:3: description: must be at most 100 characters; it has 101: shorten it"),
        ("tags: [web, http]", "tags: [web, Web_2]", "fetch.yaml:6: tags[1]: must be a tag"),
        ("allow_host: [example.com]", "allow_host: [Example.COM]", "fetch.yaml:18: permissions.network.outbound.allow_host[0]: must be a lower-case host name"),
        ("transport: streamable-http", "transport: websocket", "fetch.yaml:11: transport: must be one of 'stdio', 'sse' or 'streamable-http', not 'websocket'"),
        # Scalars are taken as YAML typed them, as the editor's JSON Schema takes them: a quoted
        # number or flag is refused, and `true` is no port 1 (pydantic's lax mode took all three).
        ("port: 8080", 'port: "8080"', "fetch.yaml:14: port: must be a whole number; YAML read '8080' as text because of its quotes: remove them"),
        ("allow_port: [443]", "allow_port: [true]", "fetch.yaml:19: permissions.network.outbound.allow_port[0]: must be a whole number, not True"),
        ("readOnlyHint: true", 'readOnlyHint: "true"', "fetch.yaml:24: tools[0].annotations.readOnlyHint: must be true or false; YAML read 'true' as text because of its quotes: remove them"),
        ("openWorldHint: true", "openWorldHint: 1", "fetch.yaml:25: tools[0].annotations.openWorldHint: must be true or false, not 1"),
        # A value where a list or a mapping goes said "input should be a valid list" or "input should be a
        # valid dictionary or instance of Permissions": pydantic's words, not what to write.
        ("tags: [web, http]", "tags: web, http",
         "fetch.yaml:6: tags: must be a list, not the text 'web, http': write [web, http] or one '- item' line per item below it"),
        ("allow_port: [443]", "allow_port: 443", "fetch.yaml:19: permissions.network.outbound.allow_port: must be a list, "
         "not the number 443: write [443] or one '- item' line per item below it"),
        ("permissions:\n  network:\n    outbound:\n      allow_host: [example.com]\n      allow_port: [443]\n",
         "permissions: none\n", "fetch.yaml:15: permissions: must be a mapping, not the text 'none': write one 'key: value' "
         "line per field below it, indented"),
        # Nothing, a list or a mapping where one text goes said "input should be a valid string":
        # not that `title:` was left empty, nor that server.json's `repository: {url: ...}` is one URL here.
        ("title: Fetch", "title:", "fetch.yaml:2: title: is empty: write its value after `title:` on this line"),
        ("tags: [web, http]", "tags:\n  - web\n  -", "fetch.yaml:8: tags[1]: is empty: write its value as this item"),
        ("license: Apache-2.0", "license: [MIT, Apache-2.0]",
         "fetch.yaml:10: license: must be text, not a list: write one value after `license:` on this line"),
        ("repository: https://github.com/stackloklabs/gofetch",
         "repository:\n  url: https://github.com/stackloklabs/gofetch\n  source: github",
         "fetch.yaml:9: repository: must be text, not a mapping: write the URL alone, "
         "`repository: https://github.com/stackloklabs/gofetch`"),
    ],
)
def test_field_rules(write_tree, runner, replace, by, expected):
    source = write_tree({"fetch.yaml": fetch_with(replace, by), "fetch.md": "x"})
    code, lines = run(runner, source)
    assert code == 1
    assert any(line.startswith(f"{source}/servers/{expected}") for line in lines), lines


def test_unknown_key_suggests_the_close_one(write_tree, runner):
    source = write_tree({"fetch.yaml": FETCH_YAML + "licence: MIT\n", "fetch.md": "x"})
    code, lines = run(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml:26: licence: unknown key 'licence'; did you mean 'license'?" in lines


def test_a_misspelt_required_key_is_one_message_on_its_line(write_tree, runner):
    """`transprot` also said "transport: required field is missing" on line 1, and `nme` in a tool
    "tools[0].name: required field is missing": two messages for one typo, one on the wrong line."""
    typos = fetch_with("transport: streamable-http", "transprot: streamable-http").replace("  - name: fetch", "  - nme: fetch")
    source = write_tree({"fetch.yaml": typos, "fetch.md": "x"})
    code, lines = run(runner, source)
    assert code == 1
    assert lines == [
        f"{source}/servers/fetch.yaml:11: transprot: unknown key 'transprot'; did you mean 'transport'?",
        f"{source}/servers/fetch.yaml:21: tools[0].nme: unknown key 'nme'; did you mean 'name'?",
        "validation failed: 2 error(s), 0 warning(s)",
    ], lines


def test_unknown_keys_hide_no_other_problem_of_the_file(write_tree, runner):
    """A typo in a key is left out after its message: the file's cross-file checks still run."""
    typos = fetch_with("category: web", "category: webs").replace("license:", "licence:")
    typos = typos.replace("    annotations:", "    annotatons:") + "  - name: fetch\n    description: Again.\n"
    source = write_tree({"fetch.yaml": typos, "fetch.md": "x"})
    code, lines = run(runner, source)
    assert code == 1
    assert lines[:4] == [
        f"{source}/servers/fetch.yaml:5: category: unknown category 'webs'; declared in catalog.yaml: data, web",
        f"{source}/servers/fetch.yaml:10: licence: unknown key 'licence'; did you mean 'license'?",
        f"{source}/servers/fetch.yaml:23: tools[0].annotatons: unknown key 'annotatons'; did you mean 'annotations'?",
        f"{source}/servers/fetch.yaml:26: tools[1]: duplicate tool name 'fetch'",
    ], lines


@pytest.mark.parametrize(("url", "warned"), [
    ("http://mcp.example.com/mcp", True),
    ("https://mcp.example.com/mcp", False),
    ("http://mcp.internal/mcp", True),  # maybe not on the internet: the message must not say it is
    ("http://docs.tools.svc.cluster.local:8080/mcp", False),  # in the cluster: the private-host warning speaks
])
def test_a_remote_outside_the_cluster_over_plain_http_is_warned(write_tree, runner, url, warned):
    remote = REMOTE_YAML.replace("url: https://mcp.example.com/mcp", f"url: {url}")
    source = write_tree({"docs-remote.yaml": remote, "docs-remote.md": "x"})
    code, lines = run(runner, source, "--verbose")
    assert code == 0, lines
    expected = (f"{source}/servers/docs-remote.yaml:10: remote.url: warning: plain http:// to a host that is "
                "neither a private address nor a *.cluster.local name: requests and their headers, credentials "
                "included, travel to it unencrypted; use https://")
    assert (expected in lines) == warned, lines


def test_unknown_nested_key_suggests_from_its_own_model(write_tree, runner):
    source = write_tree({"fetch.yaml": fetch_with("      allow_port: [443]", "      allow_ports: [443]"), "fetch.md": "x"})
    code, lines = run(runner, source)
    assert code == 1
    assert (f"{source}/servers/fetch.yaml:19: permissions.network.outbound.allow_ports: "
            "unknown key 'allow_ports'; did you mean 'allow_port'?") in lines


def test_env_names_and_secret_defaults(write_tree, runner):
    env = "env:\n  - name: 1TOKEN\n    secret: true\n  - name: API_KEY\n    secret: true\n    default: hunter2\n"
    source = write_tree({"fetch.yaml": FETCH_YAML + env, "fetch.md": "x"})
    code, lines = run(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml:27: env[0].name: must be an environment variable name: letters, digits and '_', not starting with a digit" in lines
    assert f"{source}/servers/fetch.yaml:31: env[1].default: a secret variable must not carry a default value" in lines


def test_duplicate_tool_and_env_names(write_tree, runner):
    extra = "  - name: fetch\n    description: Again.\nenv:\n  - name: A\n  - name: A\n"
    source = write_tree({"fetch.yaml": FETCH_YAML + extra, "fetch.md": "x"})
    code, lines = run(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml:26: tools[1]: duplicate tool name 'fetch'" in lines
    assert not any("duplicate deployed tool name" in line for line in lines), "one finding, reported once"
    assert f"{source}/servers/fetch.yaml:30: env[1]: duplicate environment variable 'A'" in lines


def test_remote_with_image_is_refused(write_tree, runner):
    both = REMOTE_YAML + "image: ghcr.io/x/y:1\n"
    source = write_tree({"docs-remote.yaml": both})
    code, lines = run(runner, source)
    assert code == 1
    assert f"{source}/servers/docs-remote.yaml:9: remote: a server has either `image` (container) or `remote`, not both" in lines


def test_remote_with_container_fields_is_refused(write_tree, runner):
    source = write_tree({"docs-remote.yaml": REMOTE_YAML + "port: 8080\nargs: [--x]\n"})
    code, lines = run(runner, source)
    assert code == 1
    prefix = f"{source}/servers/docs-remote.yaml"
    assert [line for line in lines if "container field" in line] == [
        f"{prefix}:14: port: a remote server runs no container, so it has no `port` (a container field)",
        f"{prefix}:15: args: a remote server runs no container, so it has no `args` (a container field)",
    ]


def test_a_servers_shape_is_judged_beside_its_other_errors(write_tree, runner):
    # pydantic runs a model validator only when every field is valid: a remote server over stdio was
    # reported only once its version was mended, one more run for the author.
    text = REMOTE_YAML.replace("version: 2.0.0", "version: latest").replace("transport: streamable-http", "transport: stdio")
    source = write_tree({"docs-remote.yaml": text + "port: 8080\nresources: {}\n"})  # {} makes an object: given
    code, lines = run(runner, source)
    assert code == 1
    prefix = f"{source}/servers/docs-remote.yaml"
    assert [line for line in lines if line.startswith(prefix)] == [
        f"{prefix}:4: version: 'latest' is reserved by the MCP registry (it names the newest version): use the real "
        "version the image or package carries, e.g. 1.4.2",
        f"{prefix}:8: transport: a remote server is reached over sse or streamable-http, not stdio",
        f"{prefix}:14: port: a remote server runs no container, so it has no `port` (a container field)",
        f"{prefix}:15: resources: a remote server runs no container, so it has no `resources` (a container field)",
    ]


def test_a_shape_rule_reading_an_invalid_field_is_not_judged(write_tree, runner):
    # An invalid remote is reported as such; read as "no remote", it would also give "a server needs
    # `image` or `remote`", a second problem that is not one.
    text = REMOTE_YAML.replace("url: https://mcp.example.com/mcp", "url: ftp://mcp.example.com/mcp")
    source = write_tree({"docs-remote.yaml": text.replace("transport: streamable-http", "transport: stdio")})
    code, lines = run(runner, source)
    assert code == 1
    prefix = f"{source}/servers/docs-remote.yaml"
    found = [line for line in lines if line.startswith(prefix)]
    assert len(found) == 1 and found[0].startswith(f"{prefix}:10: remote.url: "), found


def test_a_rule_naming_a_server_with_errors_is_not_judged(write_tree, runner):
    # The named server is there; its own errors are listed. "no other server is called" sent the
    # author looking for a file that exists.
    deprecated = FETCH_YAML + "status: deprecated\nreplaced_by: docs-remote\n"
    catalog = CATALOG_YAML + "  - name: prod\n    namespace: mcp-prod-docs\n    include:\n      names: [docs-remote]\n"
    broken = REMOTE_YAML.replace("version: 2.0.0", "version: latest")
    source = write_tree({"fetch.yaml": deprecated, "fetch.md": "x", "docs-remote.yaml": broken}, catalog=catalog)
    code, lines = run(runner, source)
    assert code == 1
    assert [line for line in lines if line.startswith(str(source))] == [
        f"{source}/servers/docs-remote.yaml:4: version: 'latest' is reserved by the MCP registry (it names the newest "
        "version): use the real version the image or package carries, e.g. 1.4.2",
    ]
    (source / "servers" / "docs-remote.yaml").unlink()
    code, lines = run(runner, source)
    assert any(line.endswith("replaced_by: no other server is called 'docs-remote'") for line in lines)
    assert any(line.endswith("names: no server is called 'docs-remote'") for line in lines)


def test_server_needs_image_or_remote(write_tree, runner):
    source = write_tree({"docs-remote.yaml": REMOTE_YAML.replace("remote:\n  url: https://mcp.example.com/mcp\n", "")})
    code, lines = run(runner, source)
    assert code == 1
    assert f"{source}/servers/docs-remote.yaml:1: a server needs `image` (container) or `remote` (hosted elsewhere)" in lines


def test_duplicate_registry_names(write_tree, runner):
    named = "registry_name: com.example/shared\n"
    source = write_tree({"fetch.yaml": FETCH_YAML + named, "fetch.md": "x", "docs-remote.yaml": REMOTE_YAML + named, "docs-remote.md": "x"})
    code, lines = run(runner, source)
    assert code == 1
    assert f"{source}/servers/docs-remote.yaml:14: registry_name: registry name 'com.example/shared' is used by 2 servers" in lines


def test_replacement_names_another_server_of_a_deprecated_one(write_tree, runner):
    lines_of = {"fetch.yaml": FETCH_YAML.count("\n") + 1}
    source = write_tree({
        "fetch.yaml": FETCH_YAML + "replaced_by: nowhere\n", "fetch.md": "x",
        "docs-remote.yaml": REMOTE_YAML + "replaced_by: fetch\n", "docs-remote.md": "x",
    })
    code, lines = run(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml:{lines_of['fetch.yaml']}: replaced_by: no other server is called 'nowhere'" in lines
    assert any(line.startswith(f"{source}/servers/docs-remote.yaml:") and line.endswith(
        "replaced_by: only a deprecated server has a replacement: set `status: deprecated` or remove `replaced_by`")
        for line in lines), lines


def test_deprecated_server_may_name_its_replacement(write_tree, runner):
    deprecated = REMOTE_YAML.replace("tier: community\n", "tier: community\nstatus: deprecated\n") + "replaced_by: fetch\n"
    source = write_tree({"fetch.yaml": FETCH_YAML, "fetch.md": "x", "docs-remote.yaml": deprecated, "docs-remote.md": "x"})
    assert run(runner, source)[0] == 0


def test_catalog_yaml_rules(write_tree, runner):
    catalog = CATALOG_YAML.replace("  - slug: data\n", "  - slug: web\n") + (
        "  - name: sandbox\n    namespace: mcp-other\n    include:\n      names: [nope]\n      categories: [ghost]\n"
    )
    source = write_tree(catalog=catalog)
    code, lines = run(runner, source)
    assert code == 1
    path = f"{source}/catalog.yaml"
    assert f"{path}:9: categories[1]: duplicate category 'web'" in lines
    assert f"{path}:18: registries[2]: duplicate registry profile 'sandbox'" in lines
    assert f"{path}:21: registries[2].include.names: no server is called 'nope'" in lines
    assert f"{path}:22: registries[2].include.categories: unknown category 'ghost'" in lines


def test_catalog_yaml_needs_a_time_zone(write_tree, runner):
    source = write_tree(catalog=CATALOG_YAML.replace("2026-11-01T00:00:00Z", "2026-11-01T00:00:00"))
    code, lines = run(runner, source)
    assert code == 1
    assert f"{source}/catalog.yaml:5: last_updated: must carry a time zone, e.g. 2026-11-01T00:00:00Z" in lines


@pytest.mark.parametrize(("written", "message"), [
    # pydantic reads a number, or text of digits, as seconds since 1970: these passed as 1970-01-01
    # and 2026-01-01 without a word, where the editor's schema (format: date) refuses them.
    ("0", "must be a date written YYYY-MM-DD, such as 2026-01-10, not the number 0"),
    ("1767225600", "must be a date written YYYY-MM-DD, such as 2026-01-10, not the number 1767225600"),
    ('"1767225600"', "must be a date written YYYY-MM-DD, such as 2026-01-10, not '1767225600'"),
    # Another notation was "input should be a valid date or datetime, invalid character in year".
    ("10/01/2026", "must be a date written YYYY-MM-DD, such as 2026-01-10, not '10/01/2026'"),
    ("2026-1-10", "must be a date written YYYY-MM-DD, such as 2026-01-10, not '2026-1-10'"),
    ("2026-01-10T09:30:00Z", "must be a date without a time: write 2026-01-10"),
    ("2026-01-10T00:00:00Z", "must be a date without a time: write 2026-01-10"),
    ('"2026-02-30"', "'2026-02-30' is not a date that exists: correct it"),
])
def test_a_date_is_written_as_one_and_never_read_from_a_number(write_tree, runner, written, message):
    review = f"review:\n  status: approved\n  by: Board\n  date: 2026-01-10\n  expires: {written}\n"
    source = write_tree({"fetch.yaml": fetch_with("license: Apache-2.0\n", f"license: Apache-2.0\nupdated: {written}\n") + review,
                         "fetch.md": "x"})
    code, lines = run(runner, source)
    assert code == 1
    assert lines[:2] == [f"{source}/servers/fetch.yaml:11: updated: {message}",
                         f"{source}/servers/fetch.yaml:31: review.expires: {message}"], lines


def test_a_quoted_date_is_a_date(write_tree, runner):
    source = write_tree({"fetch.yaml": FETCH_YAML + 'updated: "2026-01-10"\n', "fetch.md": "x"})
    code, lines = run(runner, source)
    assert code == 0, lines


def test_catalog_last_updated_is_never_read_from_digits(write_tree, runner):
    source = write_tree(catalog=CATALOG_YAML.replace("2026-11-01T00:00:00Z", '"1793491200"'))
    code, lines = run(runner, source)
    assert code == 1
    assert (f"{source}/catalog.yaml:5: last_updated: must be an RFC 3339 date-time such as 2026-11-01T00:00:00Z, "
            "not '1793491200'") in lines, lines


def test_missing_catalog_yaml(write_tree, runner):
    source = write_tree()
    (source / "catalog.yaml").unlink()
    code, lines = run(runner, source)
    assert code == 1
    # It says how a new catalog gets one: "file is missing" alone left a newcomer stuck.
    assert (f"{source}/catalog.yaml: file is missing: `mcp-catalog new NAME --source DIR` starts a catalog with one to "
            "fill in (and a first server), or pass the --source that holds yours") in lines


def test_warnings_and_strict(write_tree, runner):
    undigested = FETCH_YAML.replace(
        "digest: sha256:0000000000000000000000000000000000000000000000000000000000000001\n", ""
    ).replace("tags: [web, http]", "tags: [web, http, lonely]")
    review = "review:\n  status: approved\n  by: Board\n  date: 2025-01-01\n  expires: 2026-01-01\n"
    source = write_tree({"fetch.yaml": undigested + review, "docs-remote.yaml": REMOTE_YAML})
    code, lines = run(runner, source)
    assert code == 0, lines
    path = f"{source}/servers"
    expected = [
        f"{path}/docs-remote.yaml: warning: no overview: add docs-remote.md beside it",
        f"{path}/fetch.yaml: warning: no overview: add fetch.md beside it",
        f"{path}/fetch.yaml:6: tags[2]: warning: tag 'lonely' is used by no other server (typo?)",
        f"{path}/fetch.yaml:12: image: warning: not pinned by digest: add `digest: sha256:...` (mcp-catalog pin can record it)",
        f"{path}/fetch.yaml:29: review.expires: warning: approval expired on 2026-01-01 (catalog last_updated is 2026-11-01): renew the review",
    ]
    assert lines == [*expected, "2 servers, 2 tools, 5 warnings"]
    code, lines = run(runner, source, "--strict")
    assert code == 1
    assert lines[:5] == [line.replace("warning: ", "") for line in expected]
    assert lines[-1] == "validation failed: 5 error(s), 0 warning(s) (warnings count as errors under --strict)"


def test_allow_lists_beside_insecure_allow_all_are_a_warning(write_tree, runner):
    """`insecure_allow_all` opens every host and port: an allow list beside it only misleads a reviewer."""
    open_egress = fetch_with("      allow_host: [example.com]\n", "      insecure_allow_all: true\n      allow_host: [example.com]\n")
    source = write_tree({"fetch.yaml": open_egress, "fetch.md": "x"})
    code, lines = run(runner, source)
    assert code == 0, lines
    message = ("warning: insecure_allow_all: true already allows every host and port, so this list restricts nothing: "
               "remove {key}, or remove insecure_allow_all to limit egress to the allow lists")
    path = f"{source}/servers/fetch.yaml"
    assert lines == [
        f"{path}:19: permissions.network.outbound.allow_host: " + message.format(key="allow_host"),
        f"{path}:20: permissions.network.outbound.allow_port: " + message.format(key="allow_port"),
        "1 servers, 1 tools, 2 warnings",
    ]
    code, lines = run(runner, source, "--strict")
    assert code == 1
    only = fetch_with("      allow_host: [example.com]\n      allow_port: [443]\n", "      insecure_allow_all: true\n")
    (source / "servers" / "fetch.yaml").write_text(only)
    code, lines = run(runner, source)
    assert (code, lines) == (0, ["1 servers, 1 tools, 0 warnings"])


def test_permission_paths_must_not_climb(write_tree, runner):
    source = write_tree({"fetch.yaml": fetch_with("permissions:\n", "permissions:\n  read: [/data/../etc/shadow]\n"), "fetch.md": "x"})
    code, lines = run(runner, source)
    assert code == 1
    assert any("permissions.read: '/data/../etc/shadow' has a '.' or '..' segment" in line for line in lines), lines


def test_reference_entry_with_packages_only(write_tree, runner):
    reference = REMOTE_YAML.replace(
        "remote:\n  url: https://mcp.example.com/mcp\n",
        "packages:\n  - registry_type: npm\n    identifier: '@example/docs-mcp'\n    version: 2.0.0\n",
    )
    source = write_tree({"docs-remote.yaml": reference, "docs-remote.md": "x", "fetch.yaml": FETCH_YAML, "fetch.md": "x"})
    code, lines = run(runner, source)
    assert code == 0, lines
    from generator.source.validate import read_catalog

    assert read_catalog(source).catalog.server("docs-remote").kind == "reference"
    both = reference + "image: ghcr.io/x/y:1\n"
    (source / "servers" / "docs-remote.yaml").write_text(both)
    code, lines = run(runner, source)
    assert code == 1
    assert any("`packages` is for reference entries that have neither `image` nor `remote`" in line for line in lines)


@pytest.mark.parametrize(
    ("replace", "by"),
    [
        ("image: ghcr.io/stackloklabs/gofetch/server:1.0.3", 'image: "ghcr.io/stackloklabs/gofetch/server:1.0.3\\n"'),
        ("repository: https://github.com/stackloklabs/gofetch", 'repository: "https://github.com/stackloklabs/gofetch\\n"'),
    ],
)
def test_a_trailing_newline_cannot_slip_through_a_pattern(write_tree, runner, replace, by):
    """Python's `$` matches before a final newline; a value ending in one must still be refused."""
    source = write_tree({"fetch.yaml": fetch_with(replace, by), "fetch.md": "x"})
    code, lines = run(runner, source)
    assert code == 1, lines


def test_on_failure_warnings_wait_for_verbose(write_tree, runner):
    undigested = FETCH_YAML.replace("digest: sha256:" + "0" * 63 + "1\n", "")
    source = write_tree({
        "fetch.yaml": undigested, "fetch.md": "x", "docs-remote.yaml": REMOTE_YAML + "licence: MIT\n", "docs-remote.md": "x",
    })
    code, lines = run(runner, source)
    assert code == 1
    assert not any("warning:" in line for line in lines)
    assert lines[-1] == "validation failed: 1 error(s), 1 warning(s) (--verbose also lists the 1 warning(s))"
    code, lines = run(runner, source, "--verbose")
    assert sum("warning:" in line for line in lines) == 1
    assert lines[-1] == "validation failed: 1 error(s), 1 warning(s)"


def test_lines_are_right_when_many_files_are_parsed_in_parallel(tmp_path, runner):
    """Above the parallel threshold, workers send back values only; lines are found on demand."""
    from generator.source.load import PARALLEL_THRESHOLD

    source = synthetic_catalog(tmp_path / "big", PARALLEL_THRESHOLD + 10)
    victim = source / "servers" / "server-000123.yaml"
    text = victim.read_text()
    line = text.splitlines().index(next(l for l in text.splitlines() if l.startswith("category:"))) + 1
    victim.write_text(text.replace("category: category-", "category: nowhere-", 1))
    code, lines = run(runner, source)
    assert code == 1
    assert any(l.startswith(f"{victim}:{line}: category: unknown category 'nowhere-") for l in lines), lines[:3]


def test_an_explicit_registry_name_may_not_take_another_servers_default(write_tree, runner):
    clash = REMOTE_YAML + "registry_name: com.example.test/fetch\n"
    source = write_tree({"fetch.yaml": FETCH_YAML, "fetch.md": "x", "docs-remote.yaml": clash, "docs-remote.md": "x"})
    code, lines = run(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml:1: name: registry name 'com.example.test/fetch' is used by 2 servers" in lines
    dotted = REMOTE_YAML + "registry_name: com.example.test/..\n"
    (source / "servers" / "docs-remote.yaml").write_text(dotted)
    code, lines = run(runner, source)
    assert code == 1
    assert any("registry_name: a part of the registry name may not be '.' or '..'" in line for line in lines)


def test_registry_names_that_differ_only_in_case_are_refused(write_tree, runner):
    """Each registry name is a folder of the MCP mirror (v0.1/servers/com.example.test/Fetch/): a
    case-insensitive file system unpacking the release (macOS, Windows) would make these two one."""
    clash = REMOTE_YAML + "registry_name: com.example.test/Fetch\n"
    source = write_tree({"fetch.yaml": FETCH_YAML, "fetch.md": "x", "docs-remote.yaml": clash, "docs-remote.md": "x"})
    code, lines = run(runner, source)
    assert code == 1
    tail = (": their MCP mirror folders would be one on a case-insensitive file system (macOS, Windows); "
            "choose names that differ in more than case")
    assert lines[:2] == [
        f"{source}/servers/docs-remote.yaml:14: registry_name: registry name 'com.example.test/Fetch' differs only "
        f"in case from 'com.example.test/fetch'{tail}",
        f"{source}/servers/fetch.yaml:1: name: registry name 'com.example.test/fetch' differs only "
        f"in case from 'com.example.test/Fetch'{tail}",
    ], lines


def test_files_parsed_in_parallel_give_the_values_of_files_parsed_in_process(tmp_path, monkeypatch):
    """Workers send values back packed (dates as text); unpacked they must be the very values parsed here."""
    import marshal

    from generator.source import load
    from generator.source.validate import read_catalog

    source = synthetic_catalog(tmp_path / "big", load.PARALLEL_THRESHOLD + 10)
    dated = source / "servers" / "server-000007.yaml"
    dated.write_text(dated.read_text() + "updated: 2026-10-01\n")
    parallel = read_catalog(source)
    assert parallel.parsed["server-000007"][1]  # packed by a worker, kept for the build cache
    monkeypatch.setattr(load, "PARALLEL_THRESHOLD", 10**6)
    in_process = read_catalog(source)
    assert parallel.catalog == in_process.catalog
    assert parallel.catalog.server("server-000007").updated == in_process.catalog.server("server-000007").updated is not None
    unpacked = lambda parsed: {name: (identity, marshal.loads(packed)) for name, (identity, packed) in parsed.items()}  # noqa: E731
    assert unpacked(parallel.parsed) == unpacked(in_process.parsed)



def test_profile_env_values_name_declared_profiles_of_container_servers(write_tree, runner):
    """A value a profile must set names a declared profile, on a server whose container the bundles run."""
    env = "env:\n  - name: READ_ONLY\n    profiles:\n      production: '1'\n      staging: '1'\n"
    remote = REMOTE_YAML + "env:\n  - name: MODE\n    profiles:\n      production: safe\n"
    source = write_tree({"fetch.yaml": FETCH_YAML + env, "fetch.md": "x", "docs-remote.yaml": remote, "docs-remote.md": "x"})
    code, lines = run(runner, source)
    assert code == 1
    servers = f"{source}/servers"
    assert lines[:-1] == [
        f"{servers}/docs-remote.yaml:17: env[0].profiles.production: a remote server runs no container of the "
        "bundles, so no profile can set its environment",
        f"{servers}/fetch.yaml:30: env[0].profiles.staging: no registry profile is called 'staging'; "
        "declared in catalog.yaml: production, sandbox",
    ]


def test_a_secret_takes_no_profile_value(write_tree, runner):
    env = "env:\n  - name: TOKEN\n    secret: true\n    profiles:\n      production: x\n"
    source = write_tree({"fetch.yaml": FETCH_YAML + env, "fetch.md": "x"})
    code, lines = run(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml:29: env[0].profiles: a secret variable must not carry profile values: " \
           "its value comes from the Secret" in lines, lines


def test_an_error_in_catalog_yaml_hides_no_other_problem(write_tree, runner):
    """One run reports catalog.yaml's type error, its other rules and the server files' cross-file
    problems; checks that read the faulty field are skipped, not run against a stand-in value."""
    catalog = CATALOG_YAML.replace("  - slug: data\n", "  - slug: web\n").replace(
        "    namespace: mcp-sandbox\n", "    namespace: mcp-sandbox\n    approved_only: yes please\n")
    env = "env:\n  - name: MODE\n    profiles:\n      production: safe\n"
    source = write_tree({"fetch.yaml": fetch_with("category: web", "category: webs") + env, "fetch.md": "x"}, catalog=catalog)
    code, lines = run(runner, source)
    assert code == 1
    assert lines == [
        f"{source}/catalog.yaml:9: categories[1]: duplicate category 'web'",
        f"{source}/catalog.yaml:18: registries[1].approved_only: must be true or false, not 'yes please'",
        f"{source}/servers/fetch.yaml:5: category: unknown category 'webs'; declared in catalog.yaml: web",
        "validation failed: 3 error(s), 0 warning(s)",
    ], lines


def test_servers_whose_service_names_collide_or_select_every_proxy_are_refused(write_tree, runner):
    """ToolHive names a server's Services after it (`mcp-<name>`, `mcp-<name>-headless`, `mcp-<name>-proxy`,
    `mcp-<name>-remote-proxy` for a remote): a server named after another plus a suffix would take over
    its Service; one named `mcpserver` or `mcpremoteproxy` would select every proxy pod. Each is refused
    on the later server's name line, naming the first, across the whole catalog."""
    def renamed(text: str, old: str, new: str) -> str:
        return text.replace(f"name: {old}\n", f"name: {new}\n", 1)

    servers = {"fetch.yaml": FETCH_YAML, "docs-remote.yaml": REMOTE_YAML}
    for name in ("fetch-headless", "fetch-proxy", "docs-remote-remote", "mcpserver"):
        servers[f"{name}.yaml"] = renamed(FETCH_YAML, "fetch", name)
    servers["mcpremoteproxy.yaml"] = renamed(REMOTE_YAML, "docs-remote", "mcpremoteproxy")
    servers.update({name.replace(".yaml", ".md"): "x" for name in list(servers)})
    source = write_tree(servers)
    code, lines = run(runner, source)
    assert code == 1
    assert lines == [
        f"{source}/servers/docs-remote-remote.yaml:1: name: its proxy Service mcp-docs-remote-remote-proxy is also server "
        "docs-remote's remote proxy Service: one proxy would take over the other's Service; rename the server",
        f"{source}/servers/fetch-headless.yaml:1: name: its Service mcp-fetch-headless is also server fetch's headless "
        "Service: one proxy would take over the other's Service; rename the server",
        f"{source}/servers/fetch-proxy.yaml:1: name: its Service mcp-fetch-proxy is also server fetch's proxy Service: "
        "one proxy would take over the other's Service; rename the server",
        f"{source}/servers/mcpremoteproxy.yaml:1: name: 'mcpremoteproxy' is the `app` label ToolHive gives every "
        "MCPRemoteProxy proxy pod: the server's Service would select every one of them; rename the server",
        f"{source}/servers/mcpserver.yaml:1: name: 'mcpserver' is the `app` label ToolHive gives every MCPServer proxy "
        "pod: the server's Service would select every one of them; rename the server",
        "validation failed: 5 error(s), 0 warning(s)",
    ]


def test_servers_named_alike_but_for_a_service_suffix_pass(write_tree, runner):
    """`fetch` beside `fetch-tools` or `headless`: no Service name is shared."""
    servers = {"fetch.yaml": FETCH_YAML, "fetch.md": "x"}
    for name in ("fetch-tools", "headless", "proxy"):
        servers.update({f"{name}.yaml": FETCH_YAML.replace("name: fetch\n", f"name: {name}\n", 1), f"{name}.md": "x"})
    assert run(runner, write_tree(servers))[0] == 0


def test_a_review_expiring_before_its_date_is_reported_at_expires(write_tree, runner):
    """The line to edit is `expires`, not `review:` (a model's rule placed at the field it blames)."""
    review = "review:\n  status: approved\n  by: Board\n  date: 2026-01-10\n  notes: ok\n  expires: 2026-01-09\n"
    source = write_tree({"fetch.yaml": FETCH_YAML + review, "fetch.md": "x"})
    code, lines = run(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml:31: review.expires: `expires` is before `date`" in lines, lines


def test_a_misspelt_server_name_gets_the_closest_one(write_tree, runner):
    """A profile's names and `replaced_by` suggest the server meant, as an unknown key does."""
    catalog = CATALOG_YAML + "  - name: sandbox\n    namespace: mcp-other\n    include:\n      names: [fecth, zzz]\n"
    deprecated = REMOTE_YAML.replace("tier: community\n", "tier: community\nstatus: deprecated\n") + "replaced_by: fetc\n"
    source = write_tree({"fetch.yaml": FETCH_YAML, "fetch.md": "x", "docs-remote.yaml": deprecated, "docs-remote.md": "x"},
                        catalog=catalog)
    code, lines = run(runner, source)
    assert code == 1
    names = f"{source}/catalog.yaml:21: registries[2].include.names"
    assert f"{names}: no server is called 'fecth'; did you mean 'fetch'?" in lines, lines
    assert f"{names}: no server is called 'zzz'" in lines, lines
    assert any(line.endswith("replaced_by: no other server is called 'fetc'; did you mean 'fetch'?") for line in lines), lines



def test_only_the_first_twenty_unknown_names_get_a_guess(write_tree, runner):
    """Each guess compares with every server's name: a pasted list of thousands of unknown names
    against a large catalog would take minutes, so the first 20 get one and the rest are still named."""
    misspelt = [f"fetc{letter}" for letter in "abcdefgijklmnopqrstuvwxyz"]  # 25, each one letter from 'fetch'
    catalog = CATALOG_YAML + f"  - name: sandbox\n    namespace: mcp-other\n    include:\n      names: [{', '.join(misspelt)}]\n"
    source = write_tree({"fetch.yaml": FETCH_YAML, "fetch.md": "x"}, catalog=catalog)
    code, lines = run(runner, source)
    assert code == 1
    named = [line for line in lines if "registries[2].include.names: no server is called" in line]
    assert [line.split("'")[1] for line in named] == misspelt, lines
    guessed = [line.split("'")[1] for line in named if line.endswith("did you mean 'fetch'?")]
    assert guessed == misspelt[:20], named

def test_an_impossible_review_date_is_one_message(write_tree, runner):
    """The YAML reading refuses 2026-13-10; the approval rule, which then finds no date, says nothing more."""
    review = "review:\n  status: approved\n  by: Board\n  date: 2026-13-10\n"
    source = write_tree({"fetch.yaml": FETCH_YAML + review, "fetch.md": "x"})
    code, lines = run(runner, source)
    assert code == 1
    assert [line.split(": ", 1)[0].rsplit("/", 1)[-1] for line in lines[:-1]] == ["fetch.yaml:29"], lines
    assert "review.date: '2026-13-10' reads as a date that does not exist" in lines[0], lines
