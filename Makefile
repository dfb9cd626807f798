# The README's two commands are `make demo` and `make test`; everything they
# need is installed by the targets themselves (a virtualenv in .venv, and
# for the infrastructure tests the Debian packages listed in test-infra).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/marketing-ops

.PHONY: demo test test-python test-infra bench lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

## demo: rehearse a whole publishing run against the local sandbox
demo: $(VENV)/.installed
	$(CLI) demo

## test: every test: unit, integration over the sandbox, the shipped
## configuration and policy examples, then provisioning on a booted host
test: test-python test-infra

test-python: $(VENV)/.installed
	$(PY) -m pytest
	$(CLI) --config-dir config --state-dir $$(mktemp -d) validate
	$(CLI) --config-dir config --state-dir $$(mktemp -d) policy test

## bench: print the performance figures quoted in the README
bench: $(VENV)/.installed
	for script in bench/*.py; do $(PY) "$$script" || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
