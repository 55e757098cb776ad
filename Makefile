# Two entry points for a fresh machine (see README):
#   make all    create .venv, install the pinned stack, run `spacy project run all` (profile small)
#   make test   create .venv, install the pinned stack, run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= small
# Local copy of the upstream data (leave empty to download with `spacy project assets`).
MIRROR ?= ../shared/data
# pytest-xdist workers of `make test` (tests/conftest.py groups the tests that share a fixture).
TEST_WORKERS ?= 2

.PHONY: install all test clean

$(VENV)/.installed: requirements.txt setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

all: install
	$(PY) -m spacy project run all . --vars.profile=$(PROFILE) --vars.mirror=$(MIRROR)

test: install
	$(PY) -m pytest tests -n $(TEST_WORKERS)

clean:
	rm -rf corpus training metrics packages project.lock
