# Everyday commands. Each one installs first (uv sync is quick when nothing changed), then hands over to
# scripts/services.py, which provides PostgreSQL and Redis: the servers in DATABASE_URL / REDIS_URL when
# set, otherwise embedded ones under .data/ that it starts and stops itself.

PYTHON ?= python3
VENV_PYTHON := .venv/bin/python
# uv from PATH, else as a module of $(PYTHON): a `pip install --user` puts its script in ~/.local/bin,
# which is often not on PATH.
UV = $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")

.DEFAULT_GOAL := help
.PHONY: help install run test lint format bench drills mutants stop

help:
	@echo "make run      install, start PostgreSQL + Redis if needed, load demo data, serve http://127.0.0.1:8000/"
	@echo "make test     install, lint, run the test suite (ARGS=... goes to pytest)"
	@echo "make install  create/update .venv from uv.lock"
	@echo "make lint     ruff check, ruff format --check, lint-imports (the apps' layers) and mypy (pyproject.toml)"
	@echo "make format   apply ruff's fixes and formatting"
	@echo "make bench    run every benchmarks/bench_*.py"
	@echo "make drills   reminder reliability drills: kill -9 mid-send, two beats, Redis flushed (about 4 minutes)"
	@echo "make mutants  named mutants of the rules, each run against its tests: all must be killed (ARGS=names)"
	@echo "make stop     stop the embedded servers a killed run left running (on whatever ports it used)"

install:
	@# Bootstrap uv with pip when missing: for the user; for the user on distributions that mark their
	@# Python "externally managed" (a --user install leaves the system's packages alone all the same);
	@# into the active virtualenv, where --user is refused.
	@$(UV) --version >/dev/null 2>&1 \
		|| $(PYTHON) -m pip install --user --quiet uv 2>/dev/null \
		|| $(PYTHON) -m pip install --user --quiet --break-system-packages uv 2>/dev/null \
		|| $(PYTHON) -m pip install --quiet uv \
		|| { echo "Could not install uv with pip: see https://docs.astral.sh/uv/getting-started/installation/"; exit 1; }
	$(UV) sync --frozen

run: install
	$(VENV_PYTHON) scripts/services.py run

test: install
	$(VENV_PYTHON) scripts/services.py test $(ARGS)

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports --no-cache
	.venv/bin/mypy

format: install
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench: install
	$(VENV_PYTHON) scripts/services.py bench

drills: install
	$(VENV_PYTHON) scripts/services.py exec -- python benchmarks/drill_reminders.py

mutants: install
	$(VENV_PYTHON) scripts/mutants.py $(ARGS)

stop:
	$(VENV_PYTHON) scripts/services.py stop
