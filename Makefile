# The two commands a newcomer needs:  make serve  and  make test.
# Each creates .venv (Python 3.11+) and installs what it needs the first time.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The gettext catalogues: one messages.po per language, compiled to messages.mo (not committed).
CATALOGUES := $(wildcard api/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)
EXTRACT := $(BIN)/pybabel --quiet extract -F babel.cfg -k message -k lazy_gettext \
	--no-location --sort-output --project ChemTrace --copyright-holder "ChemTrace Registry"

.PHONY: serve test lint format install lock bench bench-quick clean messages messages-check

serve: $(INSTALLED) $(COMPILED)
	$(BIN)/chemtrace serve

# One pytest-xdist worker per CPU, each on a database of its own; TEST_WORKERS=0 runs in one
# process (for a debugger, or -x on the first failure).
TEST_WORKERS ?= auto

test: $(INSTALLED) $(COMPILED)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --durations=15

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

install: $(INSTALLED) $(COMPILED)

# After adding or changing a message in the code: collect every message id into the template
# and merge it into each language's catalogue, then translate what is new there (msgstr "").
# A new language: $(BIN)/pybabel init -i api/translations/messages.pot -d api/translations -l xx
messages: $(INSTALLED)
	$(EXTRACT) -o api/translations/messages.pot .
	$(BIN)/pybabel --quiet update --no-fuzzy-matching --ignore-obsolete \
		-i api/translations/messages.pot -d api/translations

# No message in the code is missing from a catalogue or untranslated there (part of make test).
messages-check: $(INSTALLED) $(COMPILED)
	$(BIN)/python -m pytest -q tests/test_catalogues.py

%.mo: %.po | $(INSTALLED)
	$(BIN)/pybabel compile --statistics -i $< -o $@

# The benchmark suite (docs/performance.md): its own data, the real server under gunicorn,
# wrk (apt-get install wrk) or Python clients as the load, figures and ratios to a bare endpoint.
bench: $(INSTALLED)
	$(BIN)/python -m bench.run

bench-quick: $(INSTALLED)
	$(BIN)/python -m bench.run --quick

# Exactly the versions in requirements.lock, each checked against its hash; then the
# project itself, whose dependencies the lock already holds.
$(INSTALLED): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "ChemTrace needs Python 3.11 or newer; set PYTHON=python3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# Re-resolve the locks from pyproject.toml (after changing a dependency there):
# requirements.lock for development and tests, requirements-runtime.lock for the image.
lock: $(INSTALLED)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra test --generate-hashes --universal \
		--python-version 3.11 --quiet -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --universal \
		--python-version 3.11 --quiet -o requirements-runtime.lock

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache build *.egg-info
