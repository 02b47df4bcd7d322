# Two commands on a fresh machine:  make course  (site + assignment release)  and  make test.
# Each creates or updates .venv from pyproject.toml first; a second run reuses it.
SHELL := bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The offline CIFAR-10 copy beside the project (or beside the checkout this one was cloned from,
# e.g. `git clone . /tmp/fresh`), unless COURSE_DATA_DIR says otherwise.
ORIGIN := $(shell git config --get remote.origin.url 2>/dev/null)
SHARED_DATA := $(firstword $(wildcard $(abspath ..)/shared/data/cifar10 \
                 $(if $(filter /%,$(ORIGIN)),$(abspath $(ORIGIN)/..)/shared/data/cifar10)))
ifneq ($(SHARED_DATA),)
export COURSE_DATA_DIR ?= $(SHARED_DATA)
endif
ifneq ($(PROFILE),)
export COURSE_PROFILE := $(PROFILE)
endif

.PHONY: course release site test test-fast test-all bench results clean venv sysdeps

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@# Some pip set-ups warn once per package about index locations; keep the log readable.
	@# pip byte-compiles on one core; compileall then uses every core (a file it cannot compile
	@# is for another Python and never imported here, e.g. torch's py312_intrinsics.py).
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -e '.[test]' 2>&1 \
	  | { grep -v 'is neither a file nor a directory' || true; }
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null 2>&1 || true
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

# Two pytest workers (one per core here); tests/conftest.py keeps the tests that share a fixture
# in one worker and hands out the longest first. PARALLEL= runs the suite in one process.
PARALLEL ?= -n 2 --dist loadscope --no-loadscope-reorder

# Tiers: a unit tier (no chapter executed, no site built, no nbgrader round trip, no browser);
# the whole suite, which executes each chapter once and builds the site in a temporary copy
# (never in book/_build); the slow suites on top.
test: $(STAMP) sysdeps                   ## the suite CI runs (smoke profile), on two workers
	$(BIN)/python -m pytest $(PARALLEL)

test-fast: $(STAMP)                      ## the unit tier (<= 2 min): make test without the heavy tests
	$(BIN)/python -m pytest -m "not notebook and not roundtrip and not browser and not slow and not postgres"

test-all: $(STAMP)                       ## also the slow suites (cpu-profile timings)
	$(BIN)/python -m pytest -m "slow or not slow"

bench: $(STAMP)                          ## benchmarks table (not pass/fail)
	$(BIN)/python -m bench

# Every run the book and the assignments make, one record each in course_utils/records/
# (a GPU and the full profile for the records the pages show; PROFILE=smoke to try it).
# ONLY=a4_resnet,speedrun picks runs. On a device machine: bench/gpu_session.sh.
results: $(STAMP)                        ## train and record every run (course_tools.results)
	$(BIN)/python -m course_tools.results $(if $(PROFILE),--profile $(PROFILE)) $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf book/_build gradebook.db submitted autograded feedback reports downloaded grades.csv
