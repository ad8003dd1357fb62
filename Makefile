# Two commands set everything up on a fresh machine: `make run`, `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
LLAMA_NOTE := note: the first install compiles llama.cpp (llama-cpp-python) from source: about 6 minutes and ~700 MB of memory on 2 cores; pip caches the wheel, so later installs take seconds.

.PHONY: run test bench lint run-example clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	@$(BIN)/python -c "import llama_cpp" 2>/dev/null || echo "$(LLAMA_NOTE)"
	$(BIN)/python -m pip install -e '.[local]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	@$(BIN)/python -c "import llama_cpp" 2>/dev/null || echo "$(LLAMA_NOTE)"
	$(BIN)/python -m pip install -e '.[local,test]'
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/copilot-repl $(ARGS)

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest -q

lint: $(VENV)/.test-installed
	$(BIN)/ruff check copilot_repl tests bench examples
	$(BIN)/mypy

bench: $(VENV)/.test-installed
	$(BIN)/python bench/run.py

run-example: $(VENV)/.run-installed
	$(BIN)/python examples/multiple_sessions.py

clean:
	rm -rf $(VENV) build *.egg-info
