# Two entry points, both usable on a fresh machine with Python 3.11+ only:
#   make site   install into .venv and build catalog-source/ into site/
#   make test   install with test dependencies and run the whole suite
#   make golden regenerate tests/golden/ from the current output (review the diff before committing)
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: site test golden install install-test clean

site: install
	$(BIN)/mcp-catalog build --source catalog-source --out site

# The suite runs in one worker process per core (pytest-xdist; a file's tests stay together, so
# its module fixtures are made once), then the timed Lighthouse runs (`-m alone`) on their own:
# scored beside other tests' load, performance drops. Exit status 5 is "nothing selected"
# (PYTEST_ARGS naming a file without tests of one part). A marker expression goes in MARK
# (`make test MARK=reliability`), not in PYTEST_ARGS: pytest keeps the last -m only.
TEST_WORKERS ?= auto
MARK ?=
test: install-test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not alone$(if $(MARK), and ($(MARK)))" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(BIN)/python -m pytest -m "alone$(if $(MARK), and ($(MARK)))" $(PYTEST_ARGS) || [ $$? -eq 5 ]

golden: install-test
	$(BIN)/python -m pytest -q tests/test_golden_trees.py tests/test_site.py -k golden --update-golden

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf site .cache test-artifacts
