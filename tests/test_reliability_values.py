"""Reliability: hostile values are refused or flagged at validation, with path:line, never a traceback.

Marked `reliability`. Impossible dates, JSON-schema values JSON cannot carry, bidirectional
controls and invisible characters (escaped in every message), look-alike names and titles,
Windows device names, and a server with 20,000 tools (linear: each tool is looked at a fixed
number of times; its speed is measured in bench/).
"""

from __future__ import annotations

import pytest

from conftest import CATALOG_YAML, FETCH_YAML, REMOTE_YAML
from generator.cli import main
from generator.render.registry.server_json import toolhive_tool_names

pytestmark = pytest.mark.reliability


def validate(write_tree, runner, servers: dict[str, str]):
    source = write_tree(servers)
    result = runner.invoke(main, ["validate", "--source", str(source), "--verbose"])
    assert "Traceback" not in result.output
    return source, result


@pytest.mark.parametrize("where, text, line", [
    ("updated", FETCH_YAML.replace("tier: validated", "tier: validated\nupdated: 2026-02-30"), 8),
    ("description", FETCH_YAML.replace("description: Fetches web pages and returns them as Markdown.",
                                       "description: 2026-13-01"), 3),
])
def test_an_impossible_date_is_an_error_with_its_line(write_tree, runner, where, text, line):
    source, result = validate(write_tree, runner, {"fetch.yaml": text, "fetch.md": "x\n"})
    assert result.exit_code == 1
    value = "2026-02-30" if where == "updated" else "2026-13-01"
    assert f"{source}/servers/fetch.yaml:{line}: {where}: '{value}' reads as a date that does not exist: correct the date (or, where it is not meant as one, quote it)" in result.output.splitlines()


SCHEMA = FETCH_YAML + """\
    input_schema:
      type: object
      properties:
        limit:
          type: integer
          default: {value}
"""


@pytest.mark.parametrize("value, what, fix", [
    (".nan", "NaN", "write a finite number, or quote it to make it a string"),
    ("-.inf", "an infinity", "write a finite number, or quote it to make it a string"),
    (".Inf", "an infinity", "write a finite number, or quote it to make it a string"),
    ("2026-01-01", "the date 2026-01-01", "quote it to make it a string"),
    ("2026-01-01T10:00:00Z", "the date 2026-01-01T10:00:00+00:00", "quote it to make it a string"),
])
def test_json_schema_values_json_cannot_carry_are_errors(write_tree, runner, value, what, fix):
    source, result = validate(write_tree, runner, {"fetch.yaml": SCHEMA.format(value=value), "fetch.md": "x\n"})
    assert result.exit_code == 1
    assert (f"{source}/servers/fetch.yaml:31: tools[0].input_schema.properties.limit.default: {what} cannot be written as JSON: {fix}"
            in result.output.splitlines())


@pytest.mark.parametrize(("value", "what"), [
    ("2026-01-01", "the date 2026-01-01: write [a, b]"),
    ("1.10", "the number 1.1: write [a, b]"),
    ("1", "the number 1: write [1]"),
    ("true", "true: write [a, b]"),
])
def test_tools_that_are_not_a_list_are_a_message_not_a_traceback(write_tree, runner, value, what):
    """The check for values JSON cannot carry looks into a list of tools only; the model says what else is wrong."""
    text = FETCH_YAML.split("tools:")[0] + f"tools: {value}\n"
    source, result = validate(write_tree, runner, {"fetch.yaml": text, "fetch.md": "x\n"})
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"{source}/servers/fetch.yaml:20: tools: must be a list, not {what} or one '- item' line per item below it",
                                          "validation failed: 1 error(s), 0 warning(s)"]


def test_binary_in_a_json_schema_is_refused(write_tree, runner):
    source, result = validate(write_tree, runner, {"fetch.yaml": SCHEMA.format(value="!!binary aGVsbG8="), "fetch.md": "x\n"})
    assert result.exit_code == 1
    assert (f"{source}/servers/fetch.yaml:31: tools[0].input_schema.properties.limit.default: "
            "tag tag:yaml.org,2002:binary is not allowed") in result.output.splitlines()


@pytest.mark.parametrize("character", ["\u202e", "\u2066", "\u200b", "\u200f", "\ufeff", "\U000e0041"])
def test_hidden_characters_in_a_name_are_errors_and_elsewhere_warnings_shown_escaped(write_tree, runner, character):
    escaped = f"\\u{ord(character):04x}" if ord(character) <= 0xFFFF else f"\\U{ord(character):08x}"
    text = FETCH_YAML.replace("title: Fetch", f"title: Fe{character}tch").replace("  - name: fetch", f"  - name: fe{character}tch")
    source, result = validate(write_tree, runner, {"fetch.yaml": text, "fetch.md": "x\n"})
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert (f"{source}/servers/fetch.yaml:2: title: warning: holds {escaped} (bidirectional control or invisible character): "
            f"the text 'Fe{escaped}tch' does not read as it is; remove it") in lines
    assert (f"{source}/servers/fetch.yaml:21: tools[0].name: holds {escaped} (bidirectional control or invisible character): "
            f"the text 'fe{escaped}tch' does not read as it is; remove it") in lines
    assert character not in result.output


def test_an_overview_saved_with_a_byte_order_mark_reads_as_without(write_tree, runner, tmp_path):
    """Windows editors start UTF-8 with U+FEFF: an encoding mark, not a hidden character of the text."""
    overview = "## What it does\r\n\r\nFetches.\r\n".encode("utf-8-sig")
    source = write_tree({"fetch.yaml": FETCH_YAML, "fetch.md": overview})
    result = runner.invoke(main, ["validate", "--verbose", "--source", str(source)])
    assert result.exit_code == 0, result.output
    assert "fetch.md" not in result.output
    result = runner.invoke(main, ["build", "--source", str(source), "--out", str(tmp_path / "site"), "--no-cache"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "site" / "servers" / "fetch" / "index.html").read_text(encoding="utf-8")
    assert '<h3 id="overview-what-it-does">What it does</h3>' in page
    assert "\ufeff" not in page


def test_hidden_characters_written_as_yaml_escapes_are_found_like_raw_ones(write_tree, runner):
    # The file's text holds only backslashes: the characters exist in the parsed values alone.
    text = (FETCH_YAML.replace("title: Fetch", 'title: "Fetch \\u202eesabatad\\u202c"')
            .replace("description: Fetches web pages and returns them as Markdown.", 'description: "Fetches\\u200b pages\\u2066"')
            .replace("  - name: fetch", '  - name: "fe\\xadtch"'))
    assert not any(character in text for character in "\u202e\u202c\u200b\u2066\xad")
    source, result = validate(write_tree, runner, {"fetch.yaml": text, "fetch.md": "x\n"})
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert (f"{source}/servers/fetch.yaml:2: title: warning: holds \\u202c, \\u202e (bidirectional control or invisible "
            "character): the text 'Fetch \\u202eesabatad\\u202c' does not read as it is; remove it") in lines
    assert (f"{source}/servers/fetch.yaml:3: description: warning: holds \\u200b, \\u2066 (bidirectional control or "
            "invisible character): the text 'Fetches\\u200b pages\\u2066' does not read as it is; remove it") in lines
    assert (f"{source}/servers/fetch.yaml:21: tools[0].name: holds \\u00ad (bidirectional control or invisible character): "
            "the text 'fe\\u00adtch' does not read as it is; remove it") in lines


def test_control_characters_written_as_yaml_escapes_are_refused_in_every_value(write_tree, runner):
    text = (FETCH_YAML.replace("port: 8080", 'port: 8080\nargs: ["a\\u0085b", "e\\u0000f", "g\\u001bh"]')
            .replace("license: Apache-2.0", 'license: "MIT\\n# injected"')
            .replace("title: Fetch", 'title: "Fe\\ttch"')
            .replace("      readOnlyHint: true", '      "readOnly\\x07Hint": true')
            + 'review:\n  status: under-review\n  notes: "x\\u0000y\\u001b[31m"\n  by: "a\\u2028b"\n')
    catalog = CATALOG_YAML.replace("    namespace: mcp-sandbox", '    namespace: mcp-sandbox\n    viewers_group: "a\\nb: c"')
    source = write_tree({"fetch.yaml": text, "fetch.md": "x\n"}, catalog=catalog)
    result = runner.invoke(main, ["validate", "--source", str(source)])
    assert "Traceback" not in result.output
    assert result.exit_code == 1
    fetch = f"{source}/servers/fetch.yaml"
    assert result.output.splitlines() == [
        f"{source}/catalog.yaml:18: registries[1].viewers_group: holds a line break ('\\n'): this field is one line of text; remove it",
        f"{fetch}:2: title: holds a tab ('\\t'): this field is one line of text; remove it",
        f"{fetch}:10: license: holds a line break ('\\n'): this field is one line of text; remove it",
        f"{fetch}:15: args[0]: holds \\u0085 (1 control character): remove it",
        f"{fetch}:15: args[1]: holds \\u0000 (1 control character): remove it",
        f"{fetch}:15: args[2]: holds \\u001b (1 control character): remove it",
        f"{fetch}:25: tools[0].annotations.readOnly\\u0007Hint: key holds \\u0007 (1 control character): remove it",
        f"{fetch}:29: review.notes: holds \\u0000, \\u001b (2 control characters): remove it",
        f"{fetch}:30: review.by: holds \\u2028 (1 line separator): remove it",
        "validation failed: 9 error(s), 0 warning(s)",
    ]


def test_free_text_may_span_lines_and_hold_tabs(write_tree, runner):
    text = (FETCH_YAML.replace("    description: Fetch a URL.", '    description: "Fetch a URL.\\n\\tThen return it."')
            + 'review:\n  status: under-review\n  notes: |\n    Two lines\n    of notes.\n')
    source, result = validate(write_tree, runner, {"fetch.yaml": text, "fetch.md": "x\n"})
    assert result.exit_code == 0, result.output


def test_a_title_hiding_only_a_warning_still_validates(write_tree, runner):
    text = FETCH_YAML.replace("description: Fetches web pages", "description: Fetches\u200b web pages")
    source, result = validate(write_tree, runner, {"fetch.yaml": text, "fetch.md": "x\n"})
    assert result.exit_code == 0, result.output
    assert f"{source}/servers/fetch.yaml:3: description: warning: holds \\u200b" in result.output


def test_look_alike_titles_and_names_are_warned_about(write_tree, runner):
    other = REMOTE_YAML.replace("title: Docs (remote)", "title: F\u0435tch")  # Cyrillic е
    source, result = validate(write_tree, runner, {"fetch.yaml": FETCH_YAML, "fetch.md": "x\n", "docs-remote.yaml": other,
                                                   "docs-remote.md": "x\n"})
    assert result.exit_code == 0, result.output
    assert (f"{source}/servers/fetch.yaml:2: title: warning: 'Fetch' looks like the title 'F\u0435tch' of "
            f"{source}/servers/docs-remote.yaml but is other characters: readers cannot tell them apart; rename one") in result.output.splitlines()


@pytest.mark.parametrize("title, look_alike", [
    ("GitHub", "Git\u13bbub"),      # Cherokee letter MI, drawn as an H
    ("Docs", "D\u0585cs"),          # Armenian small letter OH
    ("GitHub", "\U0001d406itHub"),  # mathematical bold capital G
    ("Slack", "S1ack"),             # digit one: Unicode's data confuses it with a small L
    ("modem", "rnodem"),            # "rn" for "m", which the data lists too
    ("Slack", "\uff33\uff4c\uff41\uff43\uff4b"),  # fullwidth letters: a compatibility form
    ("Fetch", "F\u00e9tch"),        # an accent alone
])
def test_look_alikes_from_unicode_data_are_warned_about(write_tree, runner, title, look_alike):
    """Letters the former table of 40 Cyrillic and Greek look-alikes did not know, or not all of them."""
    ours = FETCH_YAML.replace("title: Fetch", f"title: {title}")
    other = REMOTE_YAML.replace("title: Docs (remote)", f"title: {look_alike}")
    source, result = validate(write_tree, runner, {"fetch.yaml": ours, "fetch.md": "x\n", "docs-remote.yaml": other,
                                                   "docs-remote.md": "x\n"})
    assert result.exit_code == 0, result.output
    assert (f"{source}/servers/fetch.yaml:2: title: warning: '{title}' looks like the title '{look_alike}' of "
            f"{source}/servers/docs-remote.yaml but is other characters: readers cannot tell them apart; rename one"
            ) in result.output.splitlines()


def test_look_alike_names_follow_the_skeleton_not_a_guess(write_tree, runner):
    """'m' and 'rn' are confusable by Unicode's data (the old table did not know); '5' and 's' are not."""
    servers = {}
    for name in ("mail-m", "mail-rn", "mail5", "mails"):
        servers[f"{name}.yaml"] = REMOTE_YAML.replace("name: docs-remote", f"name: {name}").replace(
            "title: Docs (remote)", f"title: Server {name.upper()}")
        servers[f"{name}.md"] = "x\n"
    source, result = validate(write_tree, runner, servers)
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if "looks like" in line]
    assert warned == [f"{source}/servers/mail-rn.yaml:1: name: warning: 'mail-rn' looks like the name 'mail-m' of "
                      f"{source}/servers/mail-m.yaml but is other characters: readers cannot tell them apart; rename one"]


def test_the_shipped_catalog_has_no_look_alikes(runner):
    """Distinct ordinary names and titles (the default catalog's) are not confusable."""
    from conftest import DEFAULT_SOURCE
    result = runner.invoke(main, ["validate", "--source", str(DEFAULT_SOURCE), "--verbose"])
    assert result.exit_code == 0, result.output
    assert "looks like" not in result.output


def test_the_look_alike_check_takes_one_skeleton_per_text(monkeypatch):
    """Linear: a skeleton per name, then a dict; never a comparison of every pair."""
    from generator.source import hostile
    calls = []
    real = hostile.skeleton
    monkeypatch.setattr(hostile, "skeleton", lambda text: calls.append(text) or real(text))
    entries = [(f"server-{i}", f"Server {i}") for i in range(20_000)] + [("evil", "Serv\u0435r 7"), ("other", "Server 7")]
    found = list(hostile.look_alikes(entries))
    assert len(calls) == len(entries)
    assert found == [(20_000, 7)]  # the same text again is no look-alike: only the Cyrillic one


def test_hidden_characters_in_an_overview_are_warnings_with_their_line(write_tree, runner):
    overview = "## Usage\n\nRun `rm -rf /tmp/cache\u202e /` to clean up.\n\nPlain text.\nZero\u200bwidth.\n"
    source, result = validate(write_tree, runner, {"fetch.yaml": FETCH_YAML, "fetch.md": overview})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (f"{source}/servers/fetch.md:3: warning: holds \\u202e (bidirectional control or invisible character): "
            "the text 'Run `rm -rf /tmp/cache\\u202e /` to clean up.' does not read as it is; remove it") in lines
    assert (f"{source}/servers/fetch.md:6: warning: holds \\u200b (bidirectional control or invisible character): "
            "the text 'Zero\\u200bwidth.' does not read as it is; remove it") in lines
    assert "\u202e" not in result.output and "\u200b" not in result.output
    strict = runner.invoke(main, ["validate", "--source", str(source), "--strict"])
    assert strict.exit_code == 1


@pytest.mark.parametrize("name", ["con", "com1", "lpt9", "nul", "aux", "prn"])
def test_windows_device_names_are_refused(write_tree, runner, name):
    text = FETCH_YAML.replace("name: fetch\n", f"name: {name}\n", 1)
    source, result = validate(write_tree, runner, {f"{name}.yaml": text})
    assert result.exit_code == 1
    assert (f"{source}/servers/{name}.yaml: '{name}' is a device name on Windows (CON, PRN, AUX, NUL, COM0-9, LPT0-9): "
            "a release holding it cannot be unpacked there; choose another name") in result.output.splitlines()


def test_a_windows_device_name_as_profile_is_refused(write_tree, runner):
    from conftest import CATALOG_YAML
    source = write_tree(catalog=CATALOG_YAML.replace("name: sandbox", "name: aux"))
    result = runner.invoke(main, ["validate", "--source", str(source)])
    assert result.exit_code == 1
    assert (f"{source}/catalog.yaml:16: registries[1].name: 'aux' is a device name on Windows (CON, PRN, AUX, NUL, "
            "COM0-9, LPT0-9): a release holding it cannot be unpacked there; choose another name") in result.output


class CountedName(str):
    """A tool name counting its comparisons: N names must be compared O(N) times, not O(N²)."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        CountedName.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


class NamedTool:
    def __init__(self, name: str) -> None:
        self.deployed_name = name


def test_toolhive_tool_names_is_linear_in_the_number_of_tools():
    """A list membership test per tool made 20,000 tools take 34 s (speed itself: bench/)."""
    tools = [NamedTool(CountedName(f"tool_{i % 15000}")) for i in range(20000)]
    assert toolhive_tool_names(tools) == [f"tool_{i}" for i in range(15000)]
    assert CountedName.comparisons <= 2 * len(tools)
