# The two commands of README.md. Both are idempotent: the venv is rebuilt only
# when pyproject.toml changes, and deploy stores nothing that is unchanged.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CATALOGUES := $(wildcard web/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint pytest worker bench clean vendor translations

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Compiled translations are build output (.gitignore'd), rebuilt when a catalogue changes.
web/translations/%/LC_MESSAGES/messages.mo: web/translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@ -l $*

run: $(STAMP) $(COMPILED)
	$(BIN)/nrmflow db upgrade
	$(BIN)/nrmflow deploy-all bpmn
	$(BIN)/nrmflow seed-demo
	$(BIN)/nrmflow serve --host $(HOST) --port $(PORT)

test: lint pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

pytest: $(STAMP) $(COMPILED)
	$(BIN)/python -m pytest -q

# Refresh the catalogues after changing user-facing strings, then translate the new entries
# (tests/web/test_translations.py fails while one is missing or fuzzy). Babel's default
# keywords already cover _, gettext and ngettext with its plural (a bare -k ngettext would
# drop the plural); N_ marks the titles in workflows/.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k N_ \
		--project=nrmflow -c Translators: -o web/translations/messages.pot .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations

worker: $(STAMP)
	$(BIN)/nrmflow worker

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Bounded load on PostgreSQL: 50 caseworkers, gunicorn with 4 workers and the timer worker,
# then the checks (benchmarks/soak.py). It drops and re-creates the database nrmflow_soak on
# 127.0.0.1:5432; e.g. SOAK_ARGS="--minutes 10 --database-url postgresql+psycopg://h/x_soak".
.PHONY: soak
soak: $(STAMP)
	$(BIN)/python -m benchmarks.soak $(SOAK_ARGS)

# Only to refresh web/static/vendor (needs npm); run, test and CI never do.
vendor:
	web/assets/vendor.sh
