# MegaMsg — `make run` to start, `make test` to test. Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# axe-core from npm for the accessibility checks (tests/a11y.py), at the exact version that
# tests/axe/package-lock.json pins; `npm ci` again whenever the lock file changes.
AXE = tests/axe/node_modules/.installed

.PHONY: run test test-slow lint format run-deps system-deps bench bench-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

run: run-deps $(VENV)/.run-deps
	$(BIN)/python -m megamsg.runtime.launch

test: system-deps $(VENV)/.dev-deps $(AXE)
	$(BIN)/python -m pytest -m "not slow"

# The long crash drills and walks (marked slow); CI runs them after `make test`.
test-slow: system-deps $(VENV)/.dev-deps $(AXE)
	$(BIN)/python -m pytest -m slow

$(AXE): tests/axe/package-lock.json | system-deps
	npm ci --prefix tests/axe --no-audit --no-fund
	touch $@

# ruff (style), mypy (types) and import-linter (the layers in pyproject.toml).
lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(VENV)/.dev-deps
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# System packages, installed with apt (sudo unless root) only when missing: python3-venv (the
# virtualenv), libmagic1 (neonize's python-magic) and ffmpeg (audio/video through neonize) for
# `make run`; chromium too for the browser tests, npm (Debian's nodejs comes without it) for their
# accessibility check's axe-core, and for running /docs' code examples curl, nodejs, php-cli with
# Laravel's HTTP client (php-illuminate-http, php-guzzlehttp-guzzle, php-curl).
# The deploy kit's tests check deploy/ with `systemd-analyze verify` (systemd) and `nginx -t` (nginx;
# ~2 MB, and on a machine running systemd Debian also starts it on port 80: stop it if unwanted).
define install-missing
	@missing=""; \
	for pkg in $(1); do case $$pkg in \
	  ffmpeg) command -v ffmpeg >/dev/null || missing="$$missing ffmpeg";; \
	  chromium) command -v chromium >/dev/null || missing="$$missing chromium";; \
	  libmagic1) { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -q libmagic.so.1 \
	    || missing="$$missing libmagic1";; \
	  python3-venv) $(PYTHON) -c "import ensurepip" 2>/dev/null || missing="$$missing python3-venv";; \
	  curl) command -v curl >/dev/null || missing="$$missing curl";; \
	  nodejs) command -v node >/dev/null || missing="$$missing nodejs";; \
	  npm) command -v npm >/dev/null || missing="$$missing npm";; \
	  php-cli) command -v php >/dev/null || missing="$$missing php-cli";; \
	  php-illuminate-http) [ -f /usr/share/php/Illuminate/Http/Client/Factory.php ] \
	    || missing="$$missing php-illuminate-http";; \
	  php-guzzlehttp-guzzle) [ -f /usr/share/php/GuzzleHttp/Client.php ] || missing="$$missing php-guzzlehttp-guzzle";; \
	  php-curl) php -r 'exit(extension_loaded("curl") ? 0 : 1);' 2>/dev/null || missing="$$missing php-curl";; \
	  nginx) command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx";; \
	  systemd) command -v systemd-analyze >/dev/null || missing="$$missing systemd";; \
	  wrk) command -v wrk >/dev/null || missing="$$missing wrk";; \
	esac; done; \
	if [ -z "$$missing" ]; then echo "System packages present: $(1)"; \
	elif ! command -v apt-get >/dev/null; then echo "Please install these system packages:$$missing"; \
	else SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); echo "Installing$$missing with apt-get"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; fi
endef

run-deps:
	$(call install-missing,python3-venv libmagic1 ffmpeg)

system-deps:
	$(call install-missing,python3-venv libmagic1 ffmpeg chromium curl nodejs npm php-cli php-illuminate-http php-guzzlehttp-guzzle php-curl nginx systemd)

# Send, incoming-webhook and memory figures into bench/results/latest.md (bench/README.md);
# BENCH_ARGS=--quick for a short run. wrk drives the send figures.
bench-deps:
	$(call install-missing,wrk)

bench: bench-deps $(VENV)/.dev-deps
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
