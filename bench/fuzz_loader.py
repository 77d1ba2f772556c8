"""Fuzz the source loader with atheris (coverage-guided), for bench/RESULTS.md.

Each input is one server file's bytes: parsed by the hardened YAML loader, checked for
hidden characters and values JSON cannot carry, validated into the Server model. Any
exception other than the loader's refusal or a validation error is a crash (atheris stops
and writes the input). CI runs the bounded hypothesis version (tests/test_reliability_fuzz.py).

    pip install atheris
    python bench/fuzz_loader.py -max_total_time=300 [corpus folder]
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from pydantic import ValidationError

    from generator.models import Server
    from generator.source.hostile import hidden_characters, json_incompatible
    from generator.source.yamlsafe import YamlRefused, load_mapping


def one_input(data: bytes) -> None:
    """Load, check and validate `data` as a server file; only refusals and validation errors may escape."""
    try:
        loaded = load_mapping(data, partial=True)  # as the source loader reads: without refused values
    except YamlRefused:
        return
    hidden_characters("fuzz.yaml", data.decode("utf-8"), loaded)
    json_incompatible("fuzz.yaml", loaded)
    try:
        Server.model_validate(loaded.data)
    except ValidationError:
        return


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
