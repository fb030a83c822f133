# fleetwatch.audit — developer and user entry points. Needs only python3 and make.
#   make audit   audit this machine against the embedded baseline store (.fleetwatch/)
#   make test    lint, unit tests, ansible-test sanity, integration tests, ansible-lint
SHELL := /bin/bash
PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
COLLECTIONS := $(VENV)/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/fleetwatch/audit
# Outside the work tree: inside it, ansible-test would list files with this repository's git and find none there.
SANITY_TREE := $(or $(TMPDIR),/tmp)/fleetwatch-sanity-$(shell id -u)/ansible_collections/fleetwatch/audit
# ansible-test downloads a pip bootstrap script from a host that may be unreachable; ours uses ensurepip.
GET_PIP_CACHE := $(HOME)/.ansible/test/cache/get_pip_24_2.py
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(BIN):$(PATH)

.PHONY: audit test lint unit sanity integration ansible-lint bench clean venv

venv: $(VENV)/.dev-installed $(COLLECTION_LINK)

$(VENV)/.user-installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt constraints-dev.txt requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(VENV)/.user-installed $@

# The repository root is the collection: link it where Ansible and pytest import it as fleetwatch.audit.
$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

# The embedded store and reports of `make audit`: first run snapshots, later runs compare.
AUDIT_DIR ?= $(CURDIR)/.fleetwatch
# More ansible-playbook arguments, e.g. AUDIT_ARGS='-e {"fleetwatch_setuid":{"exclude":["/srv/scratch"]}}'.
AUDIT_ARGS ?=
# The machine's name as the audited host; the fleet summary play uses the implicit 'localhost'.
AUDIT_HOST := $(subst localhost,this-host,$(shell hostname))

audit: $(VENV)/.user-installed $(COLLECTION_LINK)
	FLEETWATCH_STORE=$(AUDIT_DIR)/store FLEETWATCH_REPORT_DIR=$(AUDIT_DIR)/reports \
	  $(BIN)/ansible-playbook -i "$(AUDIT_HOST)," -c local playbooks/compare.yml \
	    -e fleetwatch_on_missing=snapshot -e fleetwatch_become=false -e ansible_python_interpreter=$(BIN)/python \
	    $(AUDIT_ARGS)

test: lint unit sanity integration ansible-lint

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/antsibull-changelog lint

unit: venv
	$(BIN)/pytest -q tests/unit

integration: venv
	$(BIN)/pytest -q tests/integration

$(GET_PIP_CACHE): tests/sanity/get_pip_standin.py
	mkdir -p $(dir $@)
	cp $< $@

# ansible-test wants the collection at .../ansible_collections/NS/NAME: test a copy of what git would ship.
sanity: venv $(GET_PIP_CACHE)
	rm -rf $(SANITY_TREE) && mkdir -p $(SANITY_TREE)
	git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' \
	  | tar --null -T - -cf - | tar -xf - -C $(SANITY_TREE)
	cd $(SANITY_TREE) && $(BIN)/ansible-test sanity --python 3.11 --requirements --color no

ansible-lint: venv
	$(BIN)/ansible-lint --offline roles playbooks

bench: venv
	bench/setuid_info
	bench/log_rate_info
	bench/sshd_auth_info

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/output
