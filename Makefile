# Vigie — the two set-up commands are `make demo` and `make test`; both create .venv when missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install browser demo demo-canaux test bench lint train docs clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/vigie demo $(DEMO_ARGS)

# The same demo with its alerts and crisis sent to every channel (Slack, e-mail, webhook, Teams, Tchap/Matrix,
# Mattermost, SMS), each against a local fake server; prints what each one received.
demo-canaux: $(STAMP)
	$(PY) -m tests.fakes.all_channels $(DEMO_ARGS)

# Debian's chromium renders the digest and the dashboard in the browser tests (installed when missing).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ; } \
	  || echo "chromium could not be installed: the browser tests will be skipped"

test: $(STAMP) browser
	$(PY) -m pytest -n 2 -p no:cacheprovider

bench: $(STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .

train: $(STAMP)
	$(VENV)/bin/vigie train

# Regenerates docs/configuration.md, docs/cli.md and the types table of docs/recipes.md (tests hold them).
docs: $(STAMP)
	$(PY) -m listener.docs

clean:
	rm -rf $(VENV) build *.egg-info demo-out
