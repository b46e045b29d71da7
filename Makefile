# Deskline: `make run` starts the whole system, `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)

# Services with a database of their own (migrated by `make migrate`); later issues add theirs.
DB_SERVICES := tickets notifier tracker_gateway chat

CHARTJS_VERSION := 4.6.1
.PHONY: install vendor run run-scaled migrate run-tickets run-notifier run-gateway run-tracker-projector run-chat bootstrap test test-fast browser bench bench-day lock infra clean

install: $(VENV)/.installed vendor

# The console's charts (Reports page): Chart.js's UMD bundle, used as shipped (no build step). npm fetches the
# pinned release from its registry; the tarball must match the checksum recorded here, or nothing is installed.
# Upgrading: change the version and the checksum together (docs/decisions.md, "Charts").
CHARTJS_SHA256 := 9345dacdf4bb4c5d40321f4b9aafab6fe676d37a534fc0bc2d17c4c4e29c4f00
VENDOR_DIR := services/tracker_gateway/static/vendor/chartjs-$(CHARTJS_VERSION)
CHARTJS := $(VENDOR_DIR)/chart.umd.min.js
vendor: $(CHARTJS)

$(CHARTJS):
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null; }
	@rm -rf $(VENDOR_DIR).tmp && mkdir -p $(VENDOR_DIR).tmp
	cd $(VENDOR_DIR).tmp && npm pack --silent chart.js@$(CHARTJS_VERSION) >/dev/null && \
		echo "$(CHARTJS_SHA256)  chart.js-$(CHARTJS_VERSION).tgz" | sha256sum --check --quiet && \
		tar xzf chart.js-$(CHARTJS_VERSION).tgz --strip-components=1 package/dist/chart.umd.min.js package/LICENSE.md && \
		mv dist/chart.umd.min.js . && rm -rf dist chart.js-$(CHARTJS_VERSION).tgz
	rm -rf $(VENDOR_DIR) && mv $(VENDOR_DIR).tmp $(VENDOR_DIR)

$(VENV)/.installed: requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

# PostgreSQL and RabbitMQ must answer; start them if they do not (idempotent).
infra:
	@deploy/ensure-infra.sh

migrate: install infra
	@for s in $(DB_SERVICES); do $(PY) -m services.$$s migrate || exit 1; done

# Every deploy/Procfile process under supervisord (deploy/run.sh): one log stream, a process that dies
# is restarted (with back-off if it keeps dying) while the others serve; Ctrl-C stops them all.
run: migrate bootstrap
	deploy/run.sh

# Several instances of each service at once (SCALE=name=count,...). The gateways share one port
# (GATEWAY_PORT): gunicorn's --reuse-port lets each instance bind it and the kernel spreads
# connections over them. Supervised like `make run`: a killed instance is restarted.
SCALE ?= tickets=2,notifier=2,chat=2,gateway=2,tracker_projector=1
run-scaled: migrate bootstrap
	GUNICORN_CMD_ARGS="--reuse-port" SCALE="$(SCALE)" deploy/run.sh

# The gateway's client "Demo" and admin (ADMIN_EMAIL/ADMIN_PASSWORD) on a fresh install; idempotent.
bootstrap: migrate
	$(PY) -m services.tracker_gateway bootstrap

# The HTTP edge alone (gunicorn gthread on GATEWAY_PORT); instances share Redis, so limits hold across them.
run-gateway: migrate bootstrap
	$(PY) -m services.tracker_gateway run

# The tracker's read model updater; start it more than once to scale (instances share its queues).
run-tracker-projector: migrate
	$(PY) -m services.tracker_gateway.projector run

# One service alone; start it several times to scale it (instances share its queues).
run-tickets: migrate
	$(PY) -m services.tickets run

# The notifier's migrate also declares its durable event queues, so tickets published before it
# first runs are kept for it.
run-notifier: migrate
	$(PY) -m services.notifier run

# Chat's migrate also declares its durable ticket.created queue (tickets made from a chat are linked
# even if chat was down when they were created).
run-chat: migrate
	$(PY) -m services.chat run

# Debian's Chromium and fonts for the browser tests: Playwright drives it (`playwright install` cannot
# download here). Installed only when missing (we run as root).
BROWSER_PACKAGES := chromium fonts-liberation fonts-noto-color-emoji
browser:
	@test -x /usr/bin/chromium && dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES) >/dev/null; }

# The fast tier: every test that needs no PostgreSQL, RabbitMQ or Redis (tests/unit), in seconds, run
# where those are out of reach (tests/unit/offline.sh: a network namespace with only loopback).
UNIT_TEST_DIR := tests/unit
test-fast: install
	tests/unit/offline.sh $(PY) -m pytest $(UNIT_TEST_DIR) -q $(FAST_PYTEST_ARGS)

# The fast tier first (a broken rule fails in seconds), then the integration and end-to-end tests.
# Browser tests run in a process of their own, without eventlet's patching (BROWSER_TESTS in conftest.py).
BROWSER_TEST_DIRS := tests/ui tests/chat_web/browser
test: test-fast infra browser
	$(PY) -m pytest --ignore=$(UNIT_TEST_DIR) $(PYTEST_ARGS)
	$(PY) -m pytest $(BROWSER_TEST_DIRS) $(BROWSER_PYTEST_ARGS)

bench: migrate
	$(PY) -m bench $(BENCH_ARGS)

# A day of tickets through the whole system as `make run` starts it (bench/day.py): creates over HTTP for
# BENCH_DAY_SECONDS (60), then the drain; CPU per ticket per process, e-mails missing and duplicated.
bench-day: install infra
	$(PY) -m bench.day

# Re-resolve the lock file from requirements.in (a deliberate upgrade, not part of install).
lock:
	rm -rf /tmp/deskline-lock && python3 -m venv /tmp/deskline-lock
	/tmp/deskline-lock/bin/pip install --quiet -r requirements.in
	/tmp/deskline-lock/bin/pip freeze --all | grep -v '^pip==' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache
