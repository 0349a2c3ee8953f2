# The two commands a new user needs are `make book` and `make test` (see README).
# Everything else here is a step of those two, or a tool for maintainers.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HUB ?= hubs/practice.yml
# Three workers on two cores: the tests spend about a sixth of their time waiting
# (hubs and servers starting, the idle culler's timeout, browsers), and a third worker
# fills it (548 s against 593 s with two, 2026-12-07). Override: `make test WORKERS=2`.
WORKERS ?= 3
# The installer of the environment below, pinned like everything in requirements.txt.
UV := uv==0.13.10

.PHONY: book publish test test-deps r-track hub screenshots bench lint format clean

$(BIN)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# uv installs the pinned environment in about 6 s where pip took 24-41 s (every clean
	# clone and CI run pays it). It reads PyPI only, not pip's own settings (pip.conf).
	$(BIN)/python -m pip install --quiet $(UV)
	$(BIN)/uv pip install --python $(BIN)/python --quiet -r requirements.txt
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e .
	# Compile now, once: a Python that may not write bytecode (PYTHONDONTWRITEBYTECODE,
	# or a kernel in a read-only sandbox) would otherwise compile JupyterHub, IPython
	# and nbgrader from source at every start (about 1 s of CPU per kernel).
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

# Debian's Chromium, for the browser tests and screenshots (Playwright drives it;
# it never downloads a browser of its own).
/usr/bin/chromium:
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get install -y --no-install-recommends chromium \
	  || ($$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium)

# Debian's bubblewrap: `hubtrain grade` runs each learner's kernel inside it.
/usr/bin/bwrap:
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get install -y --no-install-recommends bubblewrap \
	  || ($$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends bubblewrap)

# Debian's R and IRkernel, for the R exercises, the book's R blocks and the practice
# hub's R profile. CRAN is not used: every R package here is a Debian package.
R_DEBS := r-base-core r-cran-irkernel r-cran-testthat r-cran-httr r-cran-jsonlite \
  r-cran-digest r-cran-sf r-cran-stars r-cran-processx
IR_KERNEL := $(VENV)/share/jupyter/kernels/ir/kernel.json

/usr/bin/Rscript:
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get install -y --no-install-recommends $(R_DEBS) \
	  || ($$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends $(R_DEBS))

# The `ir` kernelspec, registered in this project's environment (not system-wide),
# so the practice hub's servers and the graders find it next to python3.
$(IR_KERNEL): /usr/bin/Rscript $(BIN)/.installed
	for deb in $(R_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$deb 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$deb"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get install -y --no-install-recommends $$missing; \
	fi
	PATH="$(CURDIR)/$(BIN):$$PATH" Rscript -e 'IRkernel::installspec(prefix = "$(CURDIR)/$(VENV)")'
	touch $@

r-track: $(IR_KERNEL)

## Build the student release and the book for HUB (default: the practice hub).
book: $(BIN)/.installed
	$(BIN)/hubtrain build --hub $(HUB)

## Commit HUB's student release to the branch learners pull (its content.repo/branch).
## .github/workflows/publish.yml runs `make book` and this on each push.
publish: $(BIN)/.installed
	$(BIN)/hubtrain publish --hub $(HUB)

test-deps: $(BIN)/.installed node_modules/.installed /usr/bin/chromium /usr/bin/bwrap $(IR_KERNEL)

## Install everything the tests need, then run the whole suite.
test: test-deps
	PATH="$(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$$PATH" $(BIN)/pytest -n $(WORKERS) --dist loadgroup --durations=15

## Run the local practice hub (Ctrl-C stops it and everything it started).
hub: $(BIN)/.installed node_modules/.installed
	PATH="$(CURDIR)/node_modules/.bin:$$PATH" $(BIN)/hubtrain hub --hub $(HUB)

## Regenerate the book's screenshots from a real practice hub and Chromium.
screenshots: test-deps
	PATH="$(CURDIR)/node_modules/.bin:$$PATH" $(BIN)/python -m hubtrain.practice.screenshots --hub $(HUB)

## Print benchmark ratios (they measure; they never fail on speed).
bench: test-deps
	for script in benchmarks/*.py; do \
	  PATH="$(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$$PATH" $(BIN)/python $$script || exit 1; \
	done

lint: $(BIN)/.installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/actionlint
	$(BIN)/zizmor --offline --quiet .github/workflows

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf _build
