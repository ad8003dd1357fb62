# Two commands set everything up on a fresh machine: `make run`, `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The embedded model's llama.cpp: a portable build of this version (never
# -march=native: its AMX code crashes on CPUs that have AMX), compiled once by
# scripts/llama-wheel and kept in ~/.cache/copilot-repl/llama-wheels; the
# version is pinned in pyproject.toml's [local] extra too (a test checks).
LLAMA_VERSION := 0.3.36

# The GitHub Copilot CLI (npm @github/copilot) for the copilot provider and its tests.
COPILOT_CLI_VERSION := 1.0.102
COPILOT_CLI_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/copilot-repl/copilot-cli

# github-copilot-sdk 0.1.25 with the CLI its wheel bundles: the real side of the
# conformance suite's programs written for SDK 0.1 (tests/conformance/).
COPILOT_SDK01_VERSION := 0.1.25
COPILOT_SDK01_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/copilot-repl/sdk-$(COPILOT_SDK01_VERSION)

.PHONY: run test bench lint run-example clean copilot-cli copilot-sdk-0.1 local-rebuild browser

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The portable llama.cpp wheel first, over any build already installed, so
# that pip takes it as satisfying the [local] extra and never compiles one
# of its own (nor reuses a native wheel from its cache).
$(VENV)/.llama-installed: pyproject.toml scripts/llama-wheel | $(BIN)/python
	wheel=$$(scripts/llama-wheel $(BIN)/python $(LLAMA_VERSION)) && \
		$(BIN)/python -m pip install -q --force-reinstall --no-deps "$$wheel"
	touch $@

$(VENV)/.run-installed: pyproject.toml $(VENV)/.llama-installed
	$(BIN)/python -m pip install -e '.[local]'
	touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.llama-installed
	$(BIN)/python -m pip install -e '.[local,test,copilot]'
	touch $@ $(VENV)/.run-installed

# Put the portable llama.cpp build in place of whatever is installed (e.g. a
# native one from `pip install 'copilot-repl[local]'`, whose AMX code crashes).
local-rebuild: | $(BIN)/python
	rm -f $(VENV)/.llama-installed
	$(MAKE) $(VENV)/.llama-installed

run: $(VENV)/.run-installed
	$(BIN)/copilot-repl $(ARGS)

# Test files run in parallel (pytest-xdist), each file whole on one worker:
# its module fixtures (a local model server) start once. TEST_JOBS=0: serial.
TEST_JOBS ?= auto
test: $(VENV)/.test-installed copilot-cli copilot-sdk-0.1 browser
	$(BIN)/python -m pytest -q -n $(TEST_JOBS) --dist loadfile

lint: $(VENV)/.test-installed
	$(BIN)/ruff check copilot_repl tests bench examples tools
	$(BIN)/ruff format --check copilot_repl tests bench examples tools
	$(BIN)/mypy

bench: $(VENV)/.test-installed
	$(BIN)/python bench/run.py

run-example: $(VENV)/.run-installed
	$(BIN)/python examples/multiple_sessions.py

copilot-cli: $(COPILOT_CLI_DIR)/.installed-$(COPILOT_CLI_VERSION)

$(COPILOT_CLI_DIR)/.installed-$(COPILOT_CLI_VERSION):
	@command -v npm >/dev/null || { echo "copilot-cli: npm is needed (Debian: apt-get install npm)"; exit 1; }
	mkdir -p $(COPILOT_CLI_DIR)
	npm install --prefix $(COPILOT_CLI_DIR) --no-audit --no-fund --loglevel=error @github/copilot@$(COPILOT_CLI_VERSION)
	touch $@

copilot-sdk-0.1: $(COPILOT_SDK01_DIR)/copilot/bin/copilot

$(COPILOT_SDK01_DIR)/copilot/bin/copilot: | $(BIN)/python
	mkdir -p $(COPILOT_SDK01_DIR)/wheel
	$(BIN)/python -m pip download -q --no-deps --only-binary=:all: -d $(COPILOT_SDK01_DIR)/wheel \
		--platform manylinux_2_17_$$(uname -m) github-copilot-sdk==$(COPILOT_SDK01_VERSION)
	$(BIN)/python -m zipfile -e $(COPILOT_SDK01_DIR)/wheel/*.whl $(COPILOT_SDK01_DIR)
	chmod +x $@

# Headless Chromium renders the HTML report in tests/test_report_html.py.
# Installed from Debian's packages where we may (root, apt-get); elsewhere
# those tests say they were skipped and why.
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } ; } || \
		echo "browser: chromium is not installed; the HTML report's rendering tests will be skipped"

clean:
	rm -rf $(VENV) build *.egg-info
