# agentshop — the two commands are `make up` (install and run everything) and `make test`.
SHELL := /bin/bash
UV_VERSION := 0.13.8
UV ?= $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PYTEST_ARGS ?=
ARGS ?=

.PHONY: up chat install install-dev test test-fast lint typecheck format contracts clean chromium

up: install ## install what running needs, then start PostgreSQL, the broker, every service, BFF and UI
	.venv/bin/agentshop up $(ARGS)

chat: install ## chat with the assistant in this terminal (needs a running `make up`)
	.venv/bin/agentshop chat $(ARGS)

# Only what running the shop needs ([project].dependencies); tools already installed stay.
install: $(UV)
	$(UV) sync --frozen --no-default-groups --inexact

# Everything for developing: tests, lint, type checks, infra checks, browser test, load tests.
install-dev: $(UV)
	$(UV) sync --frozen --group dev

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

test: install-dev chromium lint typecheck ## install, lint, type-check, run every test
	$(UV) run --frozen pytest $(PYTEST_ARGS)

test-fast: install-dev chromium ## skip the suites marked slow
	$(UV) run --frozen pytest -m "not slow" $(PYTEST_ARGS)

# The browser test of the web UI drives Debian's chromium (never a downloaded browser).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium for the browser test of the web UI"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi

lint: install-dev
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen agentshop contracts --check
	$(UV) run --frozen lint-imports

typecheck: install-dev
	$(UV) run --frozen mypy .

format:
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

contracts: ## regenerate docs/asyncapi.yaml and docs/schemas
	$(UV) run --frozen agentshop contracts

clean: ## remove the local data dir (embedded PostgreSQL data)
	rm -rf .agentshop
