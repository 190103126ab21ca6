# Sanjeevani: `make run` starts the platform on its embedded default; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
HOUSEKEEPING_SECONDS ?= 5

.PHONY: run test install install-test lint browser-deps serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --once
	@echo "Serving Sanjeevani at http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	@# Timed transitions (unanswered calls, old tokens, near-turn texts) run beside the server.
	$(BIN)/python manage.py queue_housekeeping --loop $(HOUSEKEEPING_SECONDS) & housekeeping=$$!; \
	trap 'kill $$housekeeping 2>/dev/null' EXIT INT TERM; \
	$(BIN)/uvicorn sanjeevani.config.asgi:application --host $(HOST) --port $(PORT) --ws websockets-sansio --no-proxy-headers

# Debian's chromium for browser tests, coturn for the TURN relay test, nginx for the
# proxy test, pgbouncer for the pooler test and patroni + etcd-server for the failover test
# (tests/deploy), when we may install them.
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || ! command -v turnserver >/dev/null || [ ! -x /usr/sbin/nginx ] || [ ! -x /usr/sbin/pgbouncer ] || [ ! -x /usr/bin/patroni ] || [ ! -x /usr/bin/etcd ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium, coturn, nginx, pgbouncer, patroni and etcd-server for the browser, TURN, proxy, pooler and failover tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium coturn nginx pgbouncer patroni etcd-server >/dev/null; \
	  else \
	    echo "chromium, coturn, nginx, pgbouncer, patroni or etcd-server missing: browser/TURN/proxy/pooler/failover tests will skip (sudo apt-get install chromium coturn nginx pgbouncer patroni etcd-server)"; \
	  fi; \
	fi

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

test: install-test browser-deps lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var
