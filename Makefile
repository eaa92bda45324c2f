# The two commands: `make run` and `make test`. Both install what they need first.
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# docker-registry: our OCI registry; buildah: builds; busybox-static: the tests' base image.
SYSTEM_PACKAGES := docker-registry buildah busybox-static git ca-certificates
# chromium: the browser suite drives Debian's Chromium through Playwright, whose Node.js
# driver needs libatomic1; postgresql: the scale-out test runs two build workers on it;
# redis-server: the caches and sessions shared through REDIS_URL; haproxy: the load balancer
# of the several-nodes test (deploy/haproxy.cfg).
TEST_PACKAGES := chromium libatomic1 postgresql redis-server haproxy

.PHONY: run test install install-dev system-packages test-packages lint format

run: install
	scripts/run.sh

test: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
# The OpenAPI schema builds without a warning (DEBUG: manage.py asks for no SECRET_KEY then).
	DEBUG=1 $(PY) manage.py spectacular --fail-on-warn --file /dev/null
	$(VENV)/bin/pytest --durations=25

install: system-packages $(VENV)/.installed

install-dev: install test-packages $(VENV)/.installed-dev

system-packages:
	@scripts/system-packages.sh $(SYSTEM_PACKAGES)

test-packages:
	@scripts/system-packages.sh $(TEST_PACKAGES)

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
