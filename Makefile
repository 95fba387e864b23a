# CoinSite developer entry points. `make run` starts the site, `make test` runs every check.
#
# DATABASE_URL / REDIS_URL in the environment name real servers and win; when they are unset an
# embedded PostgreSQL 18 and Redis 6.2 are started inside var/ (tools/devservices/), and the media
# server (nginx with the RTMP module, `make media`) for live video when it is installed.
# Servers a target starts are stopped when it ends (Ctrl-C included); servers that were already
# running (e.g. from `make services`) are left alone. Data in var/ survives; `make clean` removes it.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEVSERVICES := $(PY) -m tools.devservices
CHROMIUM ?= /usr/bin/chromium
WEB_PORT ?= 8000
export WEB_PORT

# Start (or reuse) the services on behalf of this recipe's shell, export their URLs, and release
# them when the recipe ends however it ends. `$$` is the recipe shell's PID (.ONESHELL).
define with_services
trap '$(DEVSERVICES) release $$$$' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
$(DEVSERVICES) up --hold $$$$
set -a; . var/services.env; set +a
endef

.PHONY: help venv chromium media services run test lint fmt bench drills stop clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

venv: $(STAMP)  ## create .venv and install requirements.txt (only when it changed)

$(PY):
	python3 -m venv $(VENV)

$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $(STAMP)

chromium:  ## install Debian's chromium (and an emoji font for the gift icons) for the browser tests
	@if [ -x "$(CHROMIUM)" ] && [ -d /usr/share/fonts/truetype/noto ]; then exit 0; fi
	SUDO=; if [ "$$(id -u)" != 0 ]; then SUDO=sudo; fi
	export DEBIAN_FRONTEND=noninteractive
	PKGS="chromium fonts-noto-color-emoji"
	$$SUDO apt-get install -y $$PKGS || { $$SUDO apt-get update && $$SUDO apt-get install -y $$PKGS; }

media:  ## install the live video tools (Debian's nginx-light, libnginx-mod-rtmp, ffmpeg) and, from npm, hls.js and axe-core (for the accessibility tests)
	@SUDO=; if [ "$$(id -u)" != 0 ]; then SUDO=sudo; fi
	export DEBIAN_FRONTEND=noninteractive
	PKGS="nginx-light libnginx-mod-rtmp ffmpeg"
	if ! { command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] && command -v ffmpeg >/dev/null; }; then
	  $$SUDO apt-get install -y $$PKGS || { $$SUDO apt-get update && $$SUDO apt-get install -y $$PKGS; } \
	    || echo "media: could not install $$PKGS; the site runs without live video (the live page says so)"
	fi
	if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	  npm ci --no-audit --no-fund --loglevel=error \
	    || echo "media: npm ci failed (hls.js missing); the live page says the player is not installed"
	fi

services: venv  ## start (or reuse) PostgreSQL and Redis and write var/services.env; they keep running
	@$(DEVSERVICES) up

run: venv media  ## migrate, seed the demo, serve on http://127.0.0.1:8000/ with worker, beat and localstripe
	@$(with_services)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --noinput -v 0
	echo
	echo "CoinSite: http://127.0.0.1:$(WEB_PORT)/   (Ctrl-C stops everything)"
	echo
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start -f Procfile -p $(WEB_PORT)

test: venv chromium media  ## ruff, ruff format --check, mypy, pytest (real PostgreSQL, Redis, localstripe, Chromium), small drills
	@$(with_services)
	echo "ruff check" && $(VENV)/bin/ruff check .
	echo "ruff format --check" && $(VENV)/bin/ruff format --check .
	echo "mypy" && $(VENV)/bin/mypy .
	$(VENV)/bin/pytest
	echo "fault drills (small size)" && $(PY) -m drills --small

lint: venv  ## ruff check, ruff format --check and mypy (no services needed)
	@$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

fmt: venv  ## sort imports and format the code with ruff
	@$(VENV)/bin/ruff check --select I --fix .
	$(VENV)/bin/ruff format .

bench: venv media  ## run the benchmarks (python -m bench)
	@$(with_services)
	$(PY) -m bench

drills: venv  ## run the failure drills (python -m drills)
	@$(with_services)
	$(PY) -m drills

stop:  ## stop the embedded PostgreSQL and Redis (data stays in var/)
	@if [ -x "$(PY)" ]; then $(DEVSERVICES) down; fi

clean:  ## stop the embedded servers and delete var/ (all local data) and build caches; keeps .venv
	@if [ -x "$(PY)" ]; then $(DEVSERVICES) down --all; fi
	rm -rf var staticfiles test-results node_modules bench-results .mypy_cache .ruff_cache .pytest_cache
	rm -f $(STAMP)
	echo "Removed var/ and caches (.venv kept; the next target reinstalls requirements.txt)."
