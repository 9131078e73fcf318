# The project's commands. A fresh clone needs only `make serve` (read the site) or `make test` (run every
# test): both set up .venv and the Debian packages first. `python -m tools` holds the logic.
PY      := .venv/bin/python
SETUP   := .venv/.installed

.PHONY: help serve build execute check test sync-snippets translations new-language remove-language \
        execute-gpu bench-build bench-pages lock clean

help:            ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(SETUP): requirements.txt debian-packages.txt tools/setup.sh
	tools/setup.sh

serve: $(SETUP)  ## set up, execute (cached), build and serve both languages on http://127.0.0.1:8000, rebuilt on save (PORT=0: a free port)
	$(PY) -m tools serve $(if $(PORT),--port $(PORT))

build: $(SETUP)  ## set up, execute the notebooks (cached) and write the static site to site/
	$(PY) -m tools build

execute: $(SETUP) ## execute the notebooks into build/executed/ (cached per distinct code)
	$(PY) -m tools execute

check: $(SETUP)  ## source checks: parity, no outputs, snippets, safety; ruff on the Python; the CI workflows (actionlint, zizmor)
	$(PY) -m tools check
	.venv/bin/ruff check --no-cache .
	.venv/bin/actionlint .github/workflows/*.yml
	.venv/bin/zizmor --offline --quiet .github/workflows

test: $(SETUP)   ## set up and run every test
	$(PY) -m pytest

sync-snippets: $(SETUP) ## rewrite the notebooks' copies of snippets/*.py (FORCE=1: even copies with local edits)
	$(PY) -m tools sync-snippets $(if $(filter 1 yes true,$(FORCE)),--force)

translations: $(SETUP) ## translation status per language and topic, glossary misses
	$(PY) -m tools translations

new-language: $(SETUP) ## scaffold a language from the source: make new-language LANG=ja
	$(PY) -m tools new-language $(LANG)

remove-language: $(SETUP) ## remove a language (to build/removed/): make remove-language LANG=ja [FORCE=1]
	$(PY) -m tools remove-language $(LANG) $(if $(filter 1 yes true,$(FORCE)),--force)

execute-gpu: $(SETUP) ## on a machine with CUDA: record every notebook's outputs into recorded/
	$(PY) -m tools record-gpu

bench-build: $(SETUP) ## benchmark: cold/warm/prose-edit/code-edit builds on a temporary copy
	$(PY) benchmarks/build.py

bench-pages: build ## benchmark: page weight and Lighthouse scores of the built site
	$(PY) benchmarks/pages.py

.PHONY: compat
compat: $(SETUP) ## run every topic and tests/facts on another torch (side venv): make compat TORCH=2.15.0
	$(PY) -m tools compat $(or $(TORCH),status)

lock: $(SETUP)   ## re-lock requirements.txt from requirements.in: pip-compile, exact pins with sha256 hashes (options: pyproject.toml)
	CUSTOM_COMPILE_COMMAND="make lock" $(PY) -m piptools compile --quiet --output-file requirements.txt requirements.in

clean:           ## remove build outputs (keeps .venv)
	rm -rf build site
