# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run lan test install lint clean

$(VENV)/.installed: pyproject.toml loadtest/pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]' -e ./loadtest
	touch $@

install: $(VENV)/.installed

## run: embedded defaults (SQLite, in-memory channel layer), demo data, ASGI server
## on this machine only; `make lan` serves phones on the same network
PUBLIC_HOST ?= $(HOST)
run: export DEBUG ?= 1
run: export NEXUS_PUBLIC_URL ?= http://$(PUBLIC_HOST):$(PORT)
run: export ALLOWED_HOSTS ?= localhost,127.0.0.1,[::1],$(PUBLIC_HOST)
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo --base-url $(NEXUS_PUBLIC_URL)
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) nexus.asgi:application

## lan: `make run` listening on every address, with this machine's address on
## the local network in the printed links and the QR codes
lan: install
	$(MAKE) run HOST=0.0.0.0 PUBLIC_HOST=$$($(PY) scripts/lan-address.py)

## test: the whole suite; Postgres, Redis and RabbitMQ when their URLs are set or
## they answer on their usual local ports; Chromium and nginx installed as root
test: install
	@scripts/test-programs.sh
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	SECRET_KEY=lint-only $(VENV)/bin/mypy

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
