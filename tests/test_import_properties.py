"""Property-based tests of the import's name and description mapping (hypothesis)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.importers.mapping import Candidate, assign_names, describe, dns_label, shorten_description, title_for, tool_definition
from generator.models import DNS_LABEL

names = st.text(min_size=0, max_size=120)
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=400)


@given(names)
def test_dns_label_is_always_a_valid_label(name):
    assert re.match(DNS_LABEL, dns_label(name))


@given(names)
def test_dns_label_is_idempotent(name):
    label = dns_label(name)
    assert dns_label(label) == label


@given(st.from_regex(DNS_LABEL, fullmatch=True))
def test_a_valid_label_maps_to_itself(label):
    assert dns_label(label) == label


@settings(max_examples=200)
@given(st.lists(st.tuples(names, names), max_size=30), st.randoms())
def test_assigned_names_are_unique_valid_and_independent_of_order(pairs, random):
    assigned = assign_names(pairs)
    assert set(assigned) == {key for key, _ in pairs}
    assert len(set(assigned.values())) == len(assigned)
    assert all(re.match(DNS_LABEL, label) for label in assigned.values())
    shuffled = list(pairs)
    random.shuffle(shuffled)
    assert assign_names(shuffled) == assigned


@given(names)
def test_a_lone_name_keeps_its_label(name):
    assert assign_names([("key", name)]) == {"key": dns_label(name)}


@given(texts)
def test_shortened_description_fits_and_ends_at_a_word_boundary(text):
    line = " ".join(text.split())
    short = shorten_description(text)
    assert len(short) <= 100 and "\n" not in short and "\r" not in short
    assert bool(short) == bool(line)
    if len(line) <= 100:
        assert short == line
        return
    assert short.endswith("…")
    kept = short[:-1]
    assert kept and line.startswith(kept)
    if " " in line[:99]:
        # cut at a space: the character after the kept words (before trailing punctuation) is a space
        stem = line[: line[:99].rfind(" ")]
        assert stem.startswith(kept) and line[len(stem)] == " "


@given(texts.filter(lambda t: bool(t.strip())))
def test_described_candidate_keeps_full_text_in_the_overview(text):
    candidate = Candidate(key="k", short_name="k", position="p")
    describe(candidate, text)
    assert candidate.problem is None
    assert 1 <= len(candidate.fields["description"]) <= 100
    if len(" ".join(text.split())) > 100:
        assert candidate.overview == text.strip() + "\n"
        assert any("description shortened" in w for w in candidate.warnings)


@pytest.mark.parametrize("words", [1, 10, 20, 400])
def test_a_title_or_tool_description_cut_on_import_is_reported(words):
    """What a curator signs off is what upstream said, or a warning saying what was cut: a long
    title or tool description (what a client's model reads) is never shortened silently."""
    text = " ".join(["upstream"] * words)
    candidate = Candidate(key="k", short_name="k", position="p")
    title = title_for(text, "fallback", candidate)
    tool = tool_definition({"name": "t", "description": text}, candidate)
    assert tool is not None
    assert any(w == f"title shortened from {len(text)} to {len(title)} characters" for w in candidate.warnings) == (title != text)
    assert any(w.startswith("tool t: description shortened") for w in candidate.warnings) == (tool["description"] != text)
    assert (title != text, tool["description"] != text) == (words >= 10, words >= 400)


@given(st.text(alphabet=" \t\n\r", max_size=20))
def test_empty_description_rejects_the_entry(text):
    candidate = Candidate(key="k", short_name="k", position="p")
    describe(candidate, text)
    assert candidate.problem and "has no description" in candidate.problem
    assert "description" not in candidate.fields
