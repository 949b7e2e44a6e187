# Two entry points, each doing all set-up on a fresh machine (see README.md):
#   make report   build the leaderboard from the shipped checkpoints and labels
#   make test     run the test suite (what CI runs, via .ci/run)
# torch is installed pinned *before* the project: an unpinned resolve would pull the CUDA build
# (gigabytes); with 2.13.0 present, the project's torch range is already satisfied.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: report test setup lint browser

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev,ray]"
	touch $(STAMP)

# The committed report compares two attribution methods (integrated gradients leads; docs/models.md).
report: $(STAMP)
	$(BIN)/interpbench report --attribution integrated-gradients,grad-x-act

# Browser tests drive the system Chromium through Playwright (its own browser download cannot
# work on these machines); as root on Debian the set-up installs it, elsewhere they skip.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "chromium not installed: browser tests will skip"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint browser
	$(BIN)/python -m pytest
