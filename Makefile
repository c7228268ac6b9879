# `make demo` and `make test` set everything up in .venv on first use (and again when
# pyproject.toml or constraints.txt change).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint browser postgres java clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/impact demo

lint: $(STAMP)
	$(BIN)/ruff format --check impact tests benchmarks tools
	$(BIN)/ruff check impact tests benchmarks tools
	$(BIN)/mypy

# One worker per core; a test file's tests stay on one worker (they share module fixtures:
# a PostgreSQL server, a Spark session, a reviewed launch).
test: $(STAMP) lint browser postgres java
	$(BIN)/pytest -n auto --dist loadfile

# The browser tests use Debian's chromium; install it when missing (needs root, as in CI).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The warehouse tests start Debian's PostgreSQL server; install it when missing (root, as in CI).
postgres:
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { \
	  echo "installing Debian's postgresql for the warehouse tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# The Spark tests run Spark's local mode, which needs Java; install it when missing.
java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "installing Debian's default-jre-headless for the Spark tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; }

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
