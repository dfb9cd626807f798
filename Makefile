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

## test-infra: provision a booted Debian 12 (systemd-nspawn) with the
## Ansible role and verify it with testinfra (molecule), then lint the role
## and the operator scripts. Needs root on a Debian 12 machine; installs
## its Debian packages and a pinned Ansible toolchain in INFRA_VENV.
INFRA_VENV ?= /var/cache/marketing-ops-molecule/venv
INFRA_PINS := ansible-core==2.18.12 molecule==25.12.0 ansible-lint==25.12.2 \
	ansible-compat==26.10.0 pytest-testinfra==10.2.2 pytest==9.2.0

$(INFRA_VENV)/.installed:
	@command -v systemd-nspawn >/dev/null && command -v debootstrap >/dev/null \
		&& command -v zstd >/dev/null && command -v shellcheck >/dev/null \
		&& command -v ssh-keygen >/dev/null \
		|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		     apt-get install -y -qq systemd-container debootstrap zstd \
		     shellcheck openssh-client; }
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --upgrade pip
	$(INFRA_VENV)/bin/pip install --quiet $(INFRA_PINS)
	touch $@

test-infra: $(INFRA_VENV)/.installed
	cd ansible && PATH="$(abspath $(INFRA_VENV))/bin:$$PATH" molecule test
	cd ansible && PATH="$(abspath $(INFRA_VENV))/bin:$$PATH" \
		ansible-lint --profile production
	shellcheck -x bin/*.sh ansible/molecule/default/nspawn-host.sh
