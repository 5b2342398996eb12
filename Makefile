# stageline: `make plan` and `make test` are all a fresh clone needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: plan test lint typecheck unit image-tools checkov engine engine-lane docker-lane prebuild bench schema clean probe

$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt tools/providers/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned requirements into $(VENV) (first time only; pip shows its progress)"
	$(PY) -m pip install --disable-pip-version-check -r requirements-dev.txt
	@echo "Installing the project's command into $(VENV)/bin (pyproject.toml, [project.scripts])"
	$(PY) -m pip install --disable-pip-version-check --quiet --no-deps --no-build-isolation --editable .
	@touch $(STAMP)
# The project's own command (pyproject.toml [project.scripts]) is installed with the requirements.
$(STAMP): pyproject.toml

## plan: render every stage offline (no cloud, no Pulumi CLI) and report parity
plan: $(STAMP)
	$(PY) -m pipeline plan

## test: lint, type-check and run every test, the real-engine and docker lanes included
test: prebuild lint typecheck unit probe engine-lane docker-lane
# The engine prebuild starts exists for the docker lane: it stops it at the end.
test: export STAGELINE_STOP_HOST = 1

## prebuild: start the slow cached builds (engine, docker provider, images) in the background
prebuild:
	@tools/lanes/prebuild.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

## image-tools: skopeo and docker-registry for the image-copy tests (apt-get when missing)
image-tools:
	@tools/image-tools.sh

## checkov: the pinned Checkov in its own virtualenv (a cache outside the repository; PyPI only)
checkov:
	@tools/checkov.sh >/dev/null

## browser: Debian's chromium and chromium-driver for the pipeline page's test (apt-get when missing)
.PHONY: browser
browser:
	@tools/browser.sh
unit: browser

unit: $(STAMP) image-tools checkov
	$(VENV)/bin/pytest -q -n 2 -m "not engine and not docker"

## engine: build the pinned Pulumi CLI and Python language host from source (cached by go.sum)
engine:
	@tools/engine/build.sh >/dev/null

## engine-lane: the real engine against stand-in providers (tests/engine); needs Go or a pulumi CLI
engine-lane: $(STAMP)
	@if command -v go >/dev/null; then \
	  tools/engine/build.sh >/dev/null && $(VENV)/bin/pytest -q -n 2 -m engine; \
	elif command -v pulumi >/dev/null; then \
	  echo "engine-lane: no Go here; using the pulumi CLI on PATH ($$(pulumi version))"; \
	  $(VENV)/bin/pytest -q -n 2 -m engine; \
	else \
	  echo "################################################################"; \
	  echo "# ENGINE LANE NOT RUN: neither Go (to build the Pulumi CLI from"; \
	  echo "# source, tools/engine) nor a pulumi CLI is on this machine."; \
	  echo "################################################################"; \
	fi

## docker-lane: the local stage for real (tests/dockerlane): a Docker engine, images built here,
## the docker provider built from source; a box says so where this machine cannot run it
docker-lane: $(STAMP)
	@STAGELINE_DOCKER_LANE_REQUIRED=1 tools/lanes/docker.sh

## bench: issue 14's ratios beside their targets, time and memory figures, appended to bench/RESULTS.md
bench: $(STAMP)
	$(PY) -m bench

## probe: the mutation catalog (policies/mutations) against live, azure-live and local; exit 1 on a miss
probe: $(STAMP)
	$(PY) tools/mutation_probe.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

## demo: the local pipeline on this machine's Docker (docs/promotion.md): four stages up and a
## release of examples/app promoted through them, ending with each stage's URL
.PHONY: demo demo-down
demo: $(STAMP)
	$(PY) tools/demo/demo.py up
## demo-down: destroy the demo's four stages and remove its workspace
demo-down: $(STAMP)
	$(PY) tools/demo/demo.py down
