# Two commands on a fresh machine:  make course  (site + assignment release)  and  make test.
# Each creates or updates .venv from pyproject.toml first; a second run reuses it.
SHELL := bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The offline CIFAR-10 copy beside the project, unless COURSE_DATA_DIR says otherwise.
SHARED_DATA := $(wildcard $(abspath ..)/shared/data/cifar10)
ifneq ($(SHARED_DATA),)
export COURSE_DATA_DIR ?= $(SHARED_DATA)
endif
ifneq ($(PROFILE),)
export COURSE_PROFILE := $(PROFILE)
endif

.PHONY: course release site test test-all bench clean venv sysdeps

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@# Some pip set-ups warn once per package about index locations; keep the log readable.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]' 2>&1 \
	  | { grep -v 'is neither a file nor a directory' || true; }
	touch $@

course: release site                     ## build the assignment release and the site

release: $(STAMP)                        ## assignments/ from solutions/ (nbgrader generate_assignment)
	$(BIN)/course release

site: $(STAMP)                           ## book/_build/html, chapters executed in the active profile
	$(BIN)/python -m course_tools.site build

# System tools some suites drive: a real browser (site), PostgreSQL (large-cohort gradebook),
# bubblewrap (grading sandbox). Installed as root on Debian when missing; elsewhere those
# suites skip and say why.
sysdeps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	  { command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; } || missing="$$missing postgresql"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing$$missing"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } \
	      || echo "could not install$$missing: the suites that need them will skip"; \
	  fi; \
	fi

test: $(STAMP) sysdeps                   ## the suite CI runs (smoke profile)
	$(BIN)/python -m pytest

test-all: $(STAMP)                       ## also the slow suites (cpu-profile timings)
	$(BIN)/python -m pytest -m "slow or not slow"

bench: $(STAMP)                          ## benchmarks table (not pass/fail)
	$(BIN)/python -m bench

clean:
	rm -rf book/_build gradebook.db submitted autograded feedback reports downloaded grades.csv
