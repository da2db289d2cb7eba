# The two commands of README.md. Both are idempotent: the venv is rebuilt only
# when pyproject.toml changes, and deploy stores nothing that is unchanged.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint pytest worker bench clean vendor

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/nrmflow db upgrade
	$(BIN)/nrmflow deploy-all bpmn
	$(BIN)/nrmflow seed-demo
	$(BIN)/nrmflow serve --host $(HOST) --port $(PORT)

test: lint pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

worker: $(STAMP)
	$(BIN)/nrmflow worker

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

bench: $(STAMP)
	$(BIN)/python -m benchmarks.engine_overhead

# Only to refresh web/static/vendor (needs npm); run, test and CI never do.
vendor:
	web/assets/vendor.sh
