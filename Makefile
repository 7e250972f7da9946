# Two commands on a fresh machine (Python 3.11+, Node.js 20+): `make synth` and `make test`.
# Each sets everything up first; set-up reruns only when a dependency file changes.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# Node 20 works; jsii would print an end-of-life banner on every synth.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup chromium synth test lint rehearse bench bench-selftest clean

setup: $(STAMP) $(CHECKOV_STAMP)

# The three distributions, editable: the constructs (pyproject.toml), the proxy's runtime (lambda/) and the
# client (client/). Their dependencies come from requirements*.txt, pinned; the constructs first, so that a venv
# made before the client was split off loses the old mistral-invoke script before the client writes its own.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml lambda/pyproject.toml client/pyproject.toml package.json package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e lambda -e client
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# checkov's pins clash with requirements.txt (see requirements-checkov.txt): its own venv, inside .venv so that
# `make clean` and .gitignore cover it; tests/test_checkov.py runs it from there.
$(CHECKOV_STAMP): requirements-checkov.txt | $(STAMP)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

# The chat page's browser tests (tests/browser) run Debian's chromium through Playwright: `make test` installs it
# with apt-get when missing (sudo unless root; `make synth` does not need it). When that cannot be done, say so and go on: the browser tests then fail,
# naming what is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  if ! command -v apt-get >/dev/null 2>&1 || { [ -n "$$sudo" ] && ! command -v sudo >/dev/null 2>&1; }; then \
	    echo "make setup: could not install chromium (needs apt-get, and root or sudo); the browser tests" \
	      "(tests/browser) will fail until a Chromium is on the PATH as 'chromium'." >&2; \
	  else \
	    echo "make setup: installing Debian's chromium for the browser tests (apt-get)"; \
	    $$sudo apt-get update -qq && $$sudo apt-get install -y -qq chromium >/dev/null || \
	      echo "make setup: 'apt-get install chromium' failed; the browser tests (tests/browser) will fail" \
	        "until it succeeds." >&2; \
	  fi; \
	}

synth: setup
	cdk synth MistralEndpointStack --quiet
	@echo "wrote cdk.out/MistralEndpointStack.template.json (cdk-nag AwsSolutions, HIPAA Security, NIST 800-53 rev 5: clean)"

lint: setup
	ruff check .
	ruff format --check .
	mypy app.py stacks constructs/mistral_endpoint lambda/invoke_proxy client/mistral_client scripts tests/rehearsal

test: lint chromium
	pytest

# The deploy rehearsal: tests/rehearsal/__main__.py starts its driver, the package tests/rehearsal/rehearse/.
rehearse: setup
	$(PY) tests/rehearsal

bench: setup
	$(PY) scripts/bench_synth.py

# mistral-bench's full self-test against the loopback stand-in (a few minutes): table, CSV, JSON and chart.
bench-selftest: setup
	mistral-bench self-test --full --out bench-results/self-test

clean:
	rm -rf $(VENV) node_modules cdk.out build dist .hypothesis
