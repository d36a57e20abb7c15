# staywatch: `make run` starts the demo daemon, `make test` runs every check.
# Both bootstrap .venv from pyproject.toml on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/example.toml

.PHONY: run test lint typecheck layers pytest bench reliability catalogs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/staywatch run -c $(CONFIG)

lint: $(STAMP)
	$(BIN)/ruff check service tests bench
	$(BIN)/ruff format --check service tests bench

typecheck: $(STAMP)
	$(BIN)/mypy service

layers: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest -q -m "not slow" $(PYTEST_ARGS)

# The long fault-injection scenarios (kill -9 bursts, a stopped PostgreSQL, two
# daemons, a restart storm, a five-day soak): about 17 minutes; see docs/reliability.md.
# They stop and start the local PostgreSQL cluster once.
reliability: $(STAMP)
	$(BIN)/pytest -q -rP -m slow tests/reliability $(PYTEST_ARGS)

test: lint typecheck layers pytest

# Message catalogs: extract every message from service/ and the templates into
# service/locale/staywatch.pot, merge it into each language's .po (new messages
# arrive empty, changed ones fuzzy: translate them, then `make test` passes).
# The template is replaced only when a message changed, not for its date alone, so
# an idle run leaves the catalogs untouched.
POT := service/locale/staywatch.pot
catalogs: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k NP_:1c,2 --no-location --sort-output \
		--project=staywatch --copyright-holder="staywatch contributors" \
		-o $(POT).new service
	@if [ -f $(POT) ] && diff -q -I '^"POT-Creation-Date:' -I '^# Copyright (C)' \
		-I '^# FIRST AUTHOR' $(POT) $(POT).new >/dev/null; then rm $(POT).new; \
	else mv $(POT).new $(POT); fi
	$(BIN)/pybabel update -i $(POT) -d service/locale -D staywatch \
		--no-wrap --ignore-obsolete
	$(BIN)/pybabel compile -d service/locale -D staywatch --statistics

# Benchmarks (not timed tests): results in docs/benchmarks.md, QUICK=1 is a smoke run.
# Bench-only tools are installed when missing; without them their benchmark is skipped.
BENCH_APT := nginx wrk remind
bench: $(STAMP)
	@$(BIN)/python -c "import matplotlib" 2>/dev/null || $(BIN)/python -m pip install -q matplotlib \
		|| echo "bench: matplotlib could not be installed; the plot is skipped"
	@missing=""; for t in nginx wrk remind; do \
		command -v $$t >/dev/null 2>&1 || test -x /usr/sbin/$$t || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "bench: installing$$missing with apt-get"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BENCH_APT) >/dev/null) \
				|| echo "bench: apt-get could not install$$missing; those baselines are skipped"; \
		else echo "bench:$$missing missing and apt-get not usable (not root?); those baselines are skipped"; fi; \
	fi
	$(BIN)/python -m bench $(if $(QUICK),--quick,) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
