# Two commands on a fresh machine with Python ≥ 3.11 and make:
#   make serve   — set up and run Viza on SQLite under ./data (http://127.0.0.1:8000)
#   make test    — set up and run the test suite (also on PostgreSQL when VIZA_TEST_POSTGRES_URL is set)

PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test demo install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

serve: install
	$(BIN)/viza serve --host $(HOST) --port $(PORT)

demo: install
	$(BIN)/viza demo

test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
