# stageline: `make plan` and `make test` are all a fresh clone needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: plan test lint typecheck unit bench schema clean

$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

## plan: render every stage offline (no cloud, no Pulumi CLI) and report parity
plan: $(STAMP)
	$(PY) -m pipeline plan

## test: lint, type-check and run every test
test: lint typecheck unit

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(VENV)/bin/pytest -q -n 2

## bench: time and memory figures, written to bench/RESULTS.md
bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
