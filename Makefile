# Thin aliases over cargo and a few scripts. Every target installs what it needs by itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

FUNCTIONS := random-ext-id veeam-configurator
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

.PHONY: tools
tools: $(VENV)/.installed ## Install the Python-packaged tools into .venv

.PHONY: build
build: ## Build every crate (debug)
	cargo build --workspace --all-targets --locked

.PHONY: fmt
fmt: ## Format the code
	cargo fmt --all

.PHONY: lint
lint: ## rustfmt and clippy, warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

.PHONY: test
test: lint tools ## Every check and test
	cargo test --workspace --locked
	$(MAKE) --no-print-directory package-check

.PHONY: package
package: tools ## Build dist/<function>.zip, each an arm64 bootstrap for provided.al2023
	scripts/package.sh dist $(FUNCTIONS)

# The deployment artifacts are part of what must work: build them and check each is an
# aarch64 ELF with an executable bootstrap inside.
.PHONY: package-check
package-check: package
	@for f in $(FUNCTIONS); do \
	  $(PY) -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); i = z.getinfo("bootstrap"); \
	  assert z.namelist() == ["bootstrap"], z.namelist(); assert (i.external_attr >> 16) & 0o111, "not executable"; \
	  assert z.read("bootstrap")[:4] == b"\x7fELF"' dist/$$f.zip && echo "dist/$$f.zip: ok"; \
	done

.PHONY: demo
demo: ## Run the functions end to end locally and show their answers
	cargo build --quiet --locked -p random-ext-id -p vbaws-testkit
	target/debug/vbaws-demo target/debug/random-ext-id

FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz: ## Fuzz the event parser with cargo-fuzz for FUZZ_SECONDS (default 60)
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cargo fuzz run --sanitizer none --fuzz-dir fuzz event_parser -- -max_total_time=$(FUZZ_SECONDS)

.PHONY: clean
clean: ## Remove build output
	cargo clean
	rm -rf dist
