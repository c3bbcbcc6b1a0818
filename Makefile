# Thin aliases over cargo and a few scripts. Every target installs what it needs by itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

FUNCTIONS := random-ext-id veeam-configurator vbaws-reconciler
# The binaries the demo and the deploy checks run, built once with the tests' features
# (scripts/feature-sets.py checks it), so no command rebuilds what another built.
BINS := -p random-ext-id -p veeam-configurator -p vbaws-demo -p vbaws-reconcile -p vbaws-netcheck -p vbaws-template
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

# cfn-guard ships as a static binary inside an npm package; without npm it is built from crates.
CFN_GUARD_NPM := @cdklabs/cdk-validator-cfnguard@0.0.62
$(VENV)/bin/cfn-guard: | $(VENV)/.installed
	@if command -v npm >/dev/null; then \
	  tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent $(CFN_GUARD_NPM) >/dev/null && \
	  tar xzf ./*.tgz package/bin/ubuntu/x86_64/cfn-guard) && \
	  install -m 755 $$tmp/package/bin/ubuntu/x86_64/cfn-guard $@ && rm -rf $$tmp; \
	else cargo install cfn-guard --locked --version 3.2.1 --root $(VENV); fi

.PHONY: tools
tools: $(VENV)/.installed $(VENV)/bin/cfn-guard ## Install the tools the checks use into .venv

.PHONY: build
build: ## Build every crate (debug)
	cargo build --workspace --all-targets --locked

.PHONY: fmt
fmt: ## Format the code
	cargo fmt --all

.PHONY: lint
lint: ## rustfmt and clippy, warnings as errors; every documented target still exists
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	scripts/feature-sets.py $(BINS)
	@for target in demo bench bench-build fuzz package publish preflight reconcile trusted-access deploy-lambdas deploy-stackset update-stackset; do \
	  $(MAKE) --no-print-directory -n $$target BUCKET=b REGION=r APPLIANCE_IP=10.0.0.1 CERT_SHA256=x VPC=v \
	    SUBNETS=s ORG_ID=o OU=ou APPLIANCE_ROLE_ARN=a S3_PATH=Nat SECRETS_PATH=Nat STS_PATH=Nat CLOUDFORMATION_PATH=Nat \
	    API_URL=https://h:1 SECRET_ID=s \
	    >/dev/null || { echo "make $$target is broken"; exit 1; }; done
	@diff <(cd crates && ls -d */* | sort) <(grep -oE '^\| `crates/[a-z]+/[a-z0-9-]+`' README.md | sed 's/^| `crates\///; s/`//' | sort) \
	  || { echo "README.md's layout tables and crates/ differ (< only in crates/, > only in the README)"; exit 1; }

.PHONY: templates
templates: tools ## cfn-lint, the cfn-guard rules (and their own tests) and checkov on the templates
	cfn-lint template/*.yaml
	cfn-guard test --rules-file template/rules/promises.guard --test-data template/rules/promises.tests.yaml
	cfn-guard validate --rules template/rules/promises.guard $(addprefix --data ,$(wildcard template/*.yaml)) --show-summary fail
	cfn-guard test --rules-file template/rules/worker-network.guard --test-data template/rules/worker-network.tests.yaml
	cfn-guard validate --rules template/rules/worker-network.guard --data template/worker-network.yaml --show-summary fail
	$(PY) scripts/checkov.py

# The player's resolution of each template checked against cloud-radar's. Deployment checks
# against moto: worker-network.yaml through moto's CloudFormation, and
# roles.yaml rolled out to a mocked organization's OU by the project's CloudFormation player
# (moto's cannot run it), its IAM resources landed in each member account.
.PHONY: deploy-check
deploy-check: tools
	cargo build --quiet --locked $(BINS)
	$(PY) tests/deploy/resolve_crosscheck.py
	$(PY) tests/deploy/worker_network_moto.py
	$(PY) tests/deploy/roles_moto.py
	$(PY) tests/deploy/stackset_commands.py

.PHONY: test
test: tools ## Every check and test
	BINS="$(BINS)" scripts/make-test.sh

.PHONY: package
package: tools ## Build dist/<function>.zip, each an arm64 bootstrap for provided.al2023
	scripts/package.sh dist $(FUNCTIONS)

# The deployment artifacts are part of what must work: build them (once, with the
# package-check profile: release code without LTO) and check each is an aarch64 ELF with an
# executable bootstrap inside.
.PHONY: package-check
package-check: tools
	PROFILE=package-check TOGETHER=1 scripts/package.sh target/package-check $(FUNCTIONS)
	@for f in $(FUNCTIONS); do \
	  $(PY) -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); i = z.getinfo("bootstrap"); \
	  assert z.namelist() == ["bootstrap"], z.namelist(); assert (i.external_attr >> 16) & 0o111, "not executable"; \
	  assert z.read("bootstrap")[:4] == b"\x7fELF"' target/package-check/$$f.zip && echo "target/package-check/$$f.zip: ok"; \
	done
	@# The functions run on their execution role: the commands' sign-in (SSO) code stays out.
	@for f in $(FUNCTIONS); do \
	  tree=$$(cargo tree --locked -p $$f -e normal --prefix none) || exit 1; \
	  if echo "$$tree" | grep -q '^aws-sdk-sso'; then \
	    echo "$$f links aws-sdk-sso: depend on vbaws-sdk or vbaws-reconcile without sign-in"; exit 1; fi; \
	  if echo "$$tree" | grep -q '^clap '; then \
	    echo "$$f links clap: depend on vbaws-reconcile without its cli feature"; exit 1; fi; \
	done; echo "functions without sign-in code or a command-line parser: ok"

.PHONY: demo
demo: tools ## An Organization rollout end to end on this machine (ACCOUNTS=20, STORY=rollout|migrate|confirm|upgrade, SERVICES=ec2,rds, WORKERS=1)
	cargo build --quiet --locked $(BINS)
	target/debug/vbaws-demo --accounts $(or $(ACCOUNTS),20) --story $(or $(STORY),rollout) --services $(or $(SERVICES),ec2) $(if $(WORKERS),--workers)

# The demo's story, smaller, as part of make test.
.PHONY: demo-check
demo-check: tools
	cargo build --quiet --locked $(BINS)
	target/debug/vbaws-demo --accounts 5 --joiners 2 --leavers 1 --services ec2,rds,efs --workers
	target/debug/vbaws-demo --accounts 4 --story migrate
	target/debug/vbaws-demo --accounts 4 --story confirm
	target/debug/vbaws-demo --accounts 4 --story upgrade

.PHONY: bench
bench: tools package ## Measure the functions, a 1000-account rollout and reconciliation (CHAOS=1: also under fire); writes bench/RESULTS.md
	cargo bench --quiet --locked -p random-ext-id -p vbaws-cfn --bench external_id --bench routing
	cargo build --quiet --release --locked -p random-ext-id -p veeam-configurator -p vbaws-bench
	target/release/vbaws-bench --bin-dir target/release --zips dist --out bench/RESULTS.md $(if $(CHAOS),--chaos)

.PHONY: bench-build
bench-build: ## Measure a fresh clone's build (cold make demo and make test, target/ size, a warm make test); writes bench/RESULTS.md
	scripts/measure-build.sh

# ---- Deployment (needs AWS credentials; nothing below runs in make test) -------------------
# Every variable can be given on the command line: make deploy-lambdas BUCKET=… ORG_ID=… …
REGION ?= $(shell aws configure get region 2>/dev/null)
comma := ,
PREFIX ?= vbaws
LAMBDAS_STACK ?= $(PREFIX)-lambdas
STACKSET ?= $(PREFIX)-veeam-roles
CALL_AS ?= DELEGATED_ADMIN
# What make publish uploaded, for the deploy commands.
PUBLISHED ?= dist/published.env

.PHONY: publish
publish: package ## Upload the zips and roles.yaml to s3://$(BUCKET)/ under keys named after their content (BUCKET=… [REGION=…])
	@test -n "$(BUCKET)" || { echo "BUCKET=<an S3 bucket in $(REGION)> is required"; exit 2; }
	PUBLISHED=$(PUBLISHED) scripts/publish.sh $(BUCKET) $(REGION)

# APPLIANCE_IP, APPLIANCE_SG (optional), CERT_SHA256, VPC, SUBNETS (comma-separated), ORG_ID,
# S3_PATH (CreateGatewayEndpoint with ROUTE_TABLES, ExistingGatewayEndpoint or Nat), SECRETS_PATH,
# STS_PATH and CLOUDFORMATION_PATH (CreateEndpoint, ExistingEndpoint or Nat; SECRETS_ENDPOINT_SG
# and ENDPOINTS_SG name existing endpoints' groups) describe the backup account; with RECONCILER,
# ORGANIZATIONS_PATH (Nat, the default, or ExistingEndpoint in us-east-1); see the runbook
# in the README. Only the variables given are passed: on an update, every other parameter keeps
# the value the stack has (aws cloudformation deploy uses the previous value of a parameter it is
# not given), so re-running with fewer variables removes nothing and never turns
# EVENT_CONFIRMATION=Enforce back to Report.
LAMBDAS_PARAMETERS = ArtifactBucket=$(BUCKET) FunctionNamePrefix=$(PREFIX) \
  RandomExtIdKey=$$RANDOM_EXT_ID_KEY ConfiguratorKey=$$CONFIGURATOR_KEY ReconcilerKey=$$RECONCILER_KEY \
  RolesTemplateUrl=$$ROLES_TEMPLATE_URL \
  ApplianceAddress=$(APPLIANCE_IP) ApplianceCertSha256=$(CERT_SHA256) VpcId=$(VPC) SubnetIds=$(SUBNETS) \
  OrganizationId=$(ORG_ID) S3Path=$(S3_PATH) SecretsManagerPath=$(SECRETS_PATH) StsPath=$(STS_PATH) \
  StackSetCallAs=$(CALL_AS) \
  CloudFormationPath=$(CLOUDFORMATION_PATH) \
  $(if $(APPLIANCE_SG),ApplianceSecurityGroupId=$(APPLIANCE_SG)) \
  $(if $(ROUTE_TABLES),S3GatewayRouteTableIds=$(ROUTE_TABLES)) \
  $(if $(S3_PREFIX_LIST),S3PrefixListId=$(S3_PREFIX_LIST)) \
  $(if $(SECRETS_ENDPOINT_SG),SecretsManagerEndpointSecurityGroupId=$(SECRETS_ENDPOINT_SG)) \
  $(if $(ENDPOINTS_SG),ExistingEndpointsSecurityGroupId=$(ENDPOINTS_SG)) \
  $(if $(EVENT_CONFIRMATION),EventConfirmation=$(EVENT_CONFIRMATION)) \
  $(if $(RESERVED_CONCURRENCY),ReservedConcurrency=$(RESERVED_CONCURRENCY)) \
  $(if $(EXTENSION_LAYER_ARN),ExtensionLayerArn=$(EXTENSION_LAYER_ARN)) \
  $(if $(RECONCILER),Reconciler=$(RECONCILER)) \
  $(if $(RECONCILER_OUS),ReconcilerOrganizationalUnitIds=$(RECONCILER_OUS)) \
  $(if $(ORGANIZATIONS_PATH),OrganizationsPath=$(ORGANIZATIONS_PATH)) \
  $(if $(ORG_READER_ROLE_ARN),OrganizationReaderRoleArn=$(ORG_READER_ROLE_ARN)) \
  $(if $(ALARM_EMAIL),AlarmEmail=$(ALARM_EMAIL))

.PHONY: deploy-lambdas
deploy-lambdas: ## Deploy the Lambdas stack in the backup account (see the README's runbook)
	@for v in BUCKET APPLIANCE_IP CERT_SHA256 VPC SUBNETS ORG_ID S3_PATH SECRETS_PATH STS_PATH CLOUDFORMATION_PATH; do \
	  test -n "$${!v}" || { echo "$$v is required (see the README's runbook)"; exit 2; }; done
	@test -f $(PUBLISHED) || { echo "$(PUBLISHED) is missing: run make publish BUCKET=$(BUCKET) first (it names what to deploy)"; exit 2; }
	@. $(PUBLISHED); test "$$PUBLISHED_BUCKET" = "$(BUCKET)" || \
	  { echo "$(PUBLISHED) is of bucket $$PUBLISHED_BUCKET, not $(BUCKET): run make publish BUCKET=$(BUCKET)"; exit 2; }
	. $(PUBLISHED) && aws cloudformation deploy --region $(REGION) --stack-name $(LAMBDAS_STACK) \
	  --template-file template/lambdas.yaml --s3-bucket $(BUCKET) --s3-prefix templates \
	  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset \
	  --parameter-overrides $(strip $(LAMBDAS_PARAMETERS))
	aws cloudformation set-stack-policy --region $(REGION) --stack-name $(LAMBDAS_STACK) \
	  --stack-policy-body file://template/lambdas-stack-policy.json

.PHONY: preflight
preflight: ## Read-only checks before deploying (REGION, PROFILE, ORG_PROFILE, OU, VPC, SUBNETS, S3_PATH, SECRETS_PATH, STS_PATH, CLOUDFORMATION_PATH, ORGANIZATIONS_PATH, APPLIANCE_SG, APPLIANCE_IP, CERT_SHA256)
	cargo build --quiet --locked -p vbaws-preflight
	target/debug/vbaws-preflight --region $(REGION) $(if $(PROFILE),--profile $(PROFILE)) \
	  $(if $(ORG_PROFILE),--org-profile $(ORG_PROFILE)) $(if $(OU),--ou $(OU)) $(if $(VPC),--vpc $(VPC)) \
	  $(if $(SUBNETS),--subnets $(SUBNETS)) $(if $(S3_PATH),--s3-path $(S3_PATH)) \
	  $(if $(SECRETS_PATH),--secrets-path $(SECRETS_PATH)) $(if $(SECRETS_ENDPOINT_SG),--secrets-endpoint-sg $(SECRETS_ENDPOINT_SG)) \
	  $(if $(STS_PATH),--sts-path $(STS_PATH)) $(if $(CLOUDFORMATION_PATH),--cloudformation-path $(CLOUDFORMATION_PATH)) \
	  $(if $(ENDPOINTS_SG),--endpoints-sg $(ENDPOINTS_SG)) $(if $(APPLIANCE_SG),--appliance-sg $(APPLIANCE_SG)) \
	  $(if $(APPLIANCE_IP),--appliance-ip $(APPLIANCE_IP)) $(if $(CERT_SHA256),--cert-sha256 $(CERT_SHA256)) \
	  $(if $(ORGANIZATIONS_PATH),--organizations-path $(ORGANIZATIONS_PATH)) \
	  $(if $(EXTENSION_LAYER_ARN),--layer-arn $(EXTENSION_LAYER_ARN)) --reserved-concurrency $(or $(RESERVED_CONCURRENCY),0) \
	  --lambdas-stack $(LAMBDAS_STACK)

# Read-only unless FIX=1. Run it where Organizations and the StackSet can be read (PROFILE, or
# ROLE_ARN to assume), with the appliance reachable (API_URL) and its credentials' SECRET_ID.
.PHONY: reconcile
reconcile: ## Appliance vs Organization drift (API_URL CERT_SHA256 SECRET_ID [STACK_SET] [OU] [FIX=1] [REMOVE=id,…] [FORMAT=json])
	@for v in API_URL CERT_SHA256 SECRET_ID; do \
	  test -n "$${!v}" || { echo "$$v is required (see the README's reconciliation section)"; exit 2; }; done
	cargo build --quiet --locked -p vbaws-reconcile
	target/debug/vbaws-reconcile --api-url $(API_URL) --cert-sha256 $(CERT_SHA256) --secret-id $(SECRET_ID) \
	  $(if $(OU),--ou $(OU)) --stack-set $(or $(STACK_SET),$(STACKSET)) --call-as $(CALL_AS) --region $(REGION) \
	  $(if $(PROFILE),--profile $(PROFILE)) $(if $(SECRET_PROFILE),--secret-profile $(SECRET_PROFILE)) \
	  $(if $(ROLE_ARN),--role-arn $(ROLE_ARN)) --format $(or $(FORMAT),text) $(if $(FIX),--fix) \
	  $(foreach id,$(subst $(comma), ,$(REMOVE)),--remove $(id)) $(if $(ADOPT_UNMARKED),--adopt-unmarked)

.PHONY: trusted-access
trusted-access: ## Activate trusted access for StackSets (once, from the management account)
	aws cloudformation activate-organizations-access --region $(REGION)

# The StackSet commands run in the management or delegated-admin account; the function ARNs and
# the configurator's role come from the backup account: RANDOM_EXT_ID_ARN, CONFIGURATOR_ARN and
# CONFIGURATOR_ROLE_ARN, or BACKUP_PROFILE=<profile>.
STACKSET_ENV = REGION=$(REGION) STACKSET=$(STACKSET) LAMBDAS_STACK=$(LAMBDAS_STACK) CALL_AS=$(CALL_AS) PREFIX=$(PREFIX) \
  PUBLISHED=$(PUBLISHED)

.PHONY: deploy-stackset
deploy-stackset: ## Create the roles StackSet and its instances (OU=ou-… APPLIANCE_ROLE_ARN=… BACKUP_PROFILE=… [SERVICES=ec2,rds])
	$(STACKSET_ENV) scripts/stackset.sh create

.PHONY: update-stackset
update-stackset: ## Roll a new roles.yaml out; only the parameters given change (ROTATION=…, ON_DELETE=…, SERVICES=…, WORKER_NETWORK=Parameters)
	$(STACKSET_ENV) scripts/stackset.sh update

FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz: ## Fuzz the event parser with cargo-fuzz for FUZZ_SECONDS (default 60)
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cargo fuzz run --sanitizer none --fuzz-dir fuzz event_parser -- -max_total_time=$(FUZZ_SECONDS)

.PHONY: clean
clean: ## Remove build output
	cargo clean
	rm -rf dist
