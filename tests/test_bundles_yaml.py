"""The bundles' YAML emitter: whatever it writes, YAML readers get back exactly the value."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.render.kubernetes.manifests import _NOT_IN_BLOCK, _fits_literal_block, yaml_text

# Text as hostile as a catalog can make it: YAML indicators, keywords, numbers, dates,
# control and separator characters, astral characters, leading and trailing blanks, newlines.
tricky = st.sampled_from(
    ["yes", "No", "on", "~", "null", "1.0", "0x1f", "1_000", ".inf", "2026-01-01", "- item", "a: b", "#x", "... 0", "...",
     "&anchor", "*alias", "!tag", "%dir", "@at", "`tick`", "'single'", '"double"', "{a}", "[b]", "> folded",
     "| literal", "---", "...", "--- x", "\n---\n", "", " ", "\n", "\t", "line\n", "a\n\nb\n\n", " lead\nx", "trail \nx", "\u2028", "\x85", "😀"]
)
text = st.one_of(tricky, st.text(max_size=40), st.lists(tricky, max_size=4).map("".join))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), text)
values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(text, children, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(text, values, max_size=6))
def test_pyyaml_reads_back_exactly_what_was_emitted(document):
    assert yaml.safe_load(yaml_text(document)) == document


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(text, values, min_size=1, max_size=6), st.dictionaries(text, values, min_size=1, max_size=6))
def test_no_value_ends_a_document_of_a_multi_document_file(first, second):
    # A server's platform objects share one file, joined by `---` lines (bundles.platform_folder_files).
    assert list(yaml.safe_load_all(yaml_text(first) + "---\n" + yaml_text(second))) == [first, second]


def test_multiline_text_is_a_readable_literal_block():
    emitted = yaml_text({"data": {"config.yaml": "sources:\n  - name: file\n"}})
    assert emitted == "data:\n  config.yaml: |\n    sources:\n      - name: file\n"


def test_keywords_and_numbers_are_quoted_names_are_not():
    emitted = yaml_text({"labels": {"app.kubernetes.io/name": "osv", "flag": "yes", "version": "1.10"}})
    assert emitted == 'labels:\n  app.kubernetes.io/name: osv\n  flag: "yes"\n  version: "1.10"\n'


def test_literal_block_check_agrees_with_the_character_rules_for_every_bmp_character():
    # _fits_literal_block answers most texts with str.isprintable(); for every character it
    # must still refuse exactly what _NOT_IN_BLOCK forbids, or a ConfigMap would lose bytes.
    for point in range(0x10000):
        text = f"line one\nline{chr(point)}two\n"
        assert _fits_literal_block(text) == (_NOT_IN_BLOCK.search(text) is None), hex(point)


def test_a_long_value_is_not_kept_alive_once_emitted():
    # The emitter caches the scalars that repeat (names, labels); a policy's CEL expression is
    # 100 KB at 10,000 servers, and a cache holding it would keep every profile's policies alive.
    import sys
    import uuid

    unique = uuid.uuid4().hex  # made at run time: a constant of this code could already be cached
    name, expression = f"kind-{unique}", f"has(object.spec.{unique}) && " + "'a' in ['b'] && " * 2000 + "true"
    before = sys.getrefcount(name), sys.getrefcount(expression)
    text = yaml_text({name: expression})
    assert yaml.safe_load(text) == {name: expression}
    assert sys.getrefcount(expression) == before[1]  # not a key of the cache
    assert sys.getrefcount(name) > before[0]  # a short one is


def test_a_key_or_value_starting_with_a_document_end_is_quoted():
    """`... 0` written plain at the start of a line ends the YAML document (found by the test above)."""
    for document in ({"... 0": None}, {"k": ["... x", "...", "...."]}, {"a": {"... b": "... c"}}):
        assert yaml.safe_load(yaml_text(document)) == document
