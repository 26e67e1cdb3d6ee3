# Toro Assistant — every task a developer runs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
PIP_AUDIT_VERSION := 2.10.1
STAMP := $(VENV)/.installed
# The npm packages (package-lock.json), and the front-end files the app serves from them.
NODE_STAMP := node_modules/.installed
VENDOR := api/web/static/vendor
SWAGGER_UI := $(VENDOR)/swagger-ui
VENDORED := $(VENDOR)/.copied
APP := $(STAMP) $(VENDORED)
PYTEST_ARGS ?=
# Mutants tested at once by `make mutation`.
MUTATION_JOBS ?= $(shell nproc)
# `make deploy` asks before a change widens IAM.
APPROVAL ?= broadening
# The stage that `make synth`, `diff`, `deploy` and `destroy` act on: its settings are
# stages/defaults.json overlaid with stages/$(STAGE).json; CDK_ARGS='-c key=value' wins over both.
# Passed to the CDK through the environment, never pasted into a shell line.
STAGE ?= dev
export STAGE
# The CDK CLI pinned in package-lock.json; it runs cdk.json's app with .venv/bin/python.
CDK := JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 npx --no-install cdk
# The browser tests drive Debian's Chromium; installed from Debian's packages when missing.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell test "$$(id -u)" -eq 0 || echo sudo)

.DEFAULT_GOAL := help
.PHONY: help install chromium lock audit build synth diff policies bootstrap deploy destroy smoke run test test-unit test-integration test-api test-system test-browser test-infrastructure test-workflow test-quality eval mutation lint fmt bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@echo "==> Creating $(VENV) and installing pinned packages (requirements.lock)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	@$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	@$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@echo "==> Installing the pinned npm packages (package-lock.json)"
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

$(VENDORED): $(NODE_STAMP)
	@echo "==> Copying Swagger UI, marked and DOMPurify (pinned in package.json) into $(VENDOR)"
	@mkdir -p $(SWAGGER_UI) $(VENDOR)/marked $(VENDOR)/dompurify
	cp node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui.css,LICENSE} $(SWAGGER_UI)/
	cp node_modules/marked/lib/marked.esm.js node_modules/marked/LICENSE $(VENDOR)/marked/
	cp node_modules/dompurify/dist/purify.es.mjs $(VENDOR)/dompurify/purify.es.js
	cp node_modules/dompurify/LICENSE $(VENDOR)/dompurify/
	@touch $@

install: $(APP) ## Create .venv, install everything and copy the served front-end files (once; again when pins change)

lock: ## Re-resolve requirements.lock from pyproject.toml
	@test -x $(BIN)/uv || (test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); $(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)")
	$(BIN)/uv pip compile pyproject.toml --extra api --extra cdk --extra local --extra dev --python-version 3.11 -q -o requirements.lock

audit: $(STAMP) ## Known vulnerabilities in the pinned packages and the CDK CLI (needs the network)
	@status=0; \
	echo "==> pip-audit $(PIP_AUDIT_VERSION) on requirements.lock"; \
	$(BIN)/uv tool run --from pip-audit==$(PIP_AUDIT_VERSION) pip-audit -r requirements.lock \
		--no-deps --disable-pip --strict --progress-spinner off || status=1; \
	echo "==> npm audit on package-lock.json (the CDK CLI)"; \
	npm audit --package-lock-only || status=1; \
	exit $$status

run: $(APP) ## Run the whole system locally: API, Lambdas, state machine, answerer (no AWS, no key)
	$(BIN)/toro dev

lint: $(STAMP) ## ruff (lint + format check), mypy (strict) and the CI workflows against GitHub's schema
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

fmt: $(STAMP) ## Format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(CHROMIUM):
	@echo "==> Installing Debian's Chromium for the browser tests (apt-get install chromium)"
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium

chromium: $(CHROMIUM) ## Install Debian's Chromium for the browser tests (only when missing)

test: lint $(VENDORED) $(CHROMIUM) ## Lint, then every test layer
	CHROMIUM=$(CHROMIUM) $(BIN)/pytest $(PYTEST_ARGS)

test-unit: $(APP) ## Unit tests only (pure logic, no AWS)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-integration: $(APP) ## Handlers against moto
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

test-api: $(APP) ## The REST API against moto, including the OpenAPI fuzzing
	$(BIN)/pytest tests/api $(PYTEST_ARGS)

test-system: $(APP) ## `toro dev` as a user runs it: HTTP, the CLI, every sample event
	$(BIN)/pytest tests/system $(PYTEST_ARGS)

test-browser: $(APP) $(CHROMIUM) ## The web page in Chromium against `toro dev` (screenshot in test-artifacts/)
	CHROMIUM=$(CHROMIUM) $(BIN)/pytest tests/browser $(PYTEST_ARGS)

test-infrastructure: $(APP) ## The synthesized CloudFormation template
	$(BIN)/pytest tests/infrastructure $(PYTEST_ARGS)

test-workflow: $(APP) ## The real state machine in the embedded runtime
	$(BIN)/pytest tests/workflow $(PYTEST_ARGS)

test-quality: $(APP) ## The evaluation set through `toro dev`, held at the floor in eval/floor.json
	$(BIN)/pytest tests/quality $(PYTEST_ARGS)

eval: $(APP) ## Score answer quality on the evaluation set (offline model, or OPENAI_API_KEY's); EVAL_ARGS="--feedback-table T" adds people's ratings
	$(BIN)/python -m eval $(EVAL_ARGS)

mutation: $(APP) ## Mutation testing of core/ with mutmut (slow; not part of `make test`), then the score; picks up where the last run stopped
	$(BIN)/mutmut run --max-children $(MUTATION_JOBS)
	$(BIN)/python -m tests.mutation.score

build: $(APP) ## Build the Lambda code asset (arm64 wheels, no Docker) into build/lambda
	$(BIN)/python -m cdk_app.build

synth: build $(NODE_STAMP) ## Synthesize the template of STAGE (default dev) offline into cdk.out/, through the CDK CLI
	$(CDK) synth --quiet --no-notices -c stage="$$STAGE" $(CDK_ARGS)

policies: $(STAMP) ## Write the IAM policies of the synthesized template that the local stack enforces (local/iam_policies.json)
	$(BIN)/python -m cdk_app.policies

diff: build $(NODE_STAMP) ## Show what `make deploy` would change in the deployed STAGE
	$(CDK) diff -c stage="$$STAGE" $(CDK_ARGS)

bootstrap: build $(NODE_STAMP) ## Prepare the AWS account and region for CDK deployments (once; the CLI synthesizes the app first)
	$(CDK) bootstrap -c stage="$$STAGE"

deploy: build $(NODE_STAMP) ## Deploy STAGE (default dev) to the AWS account of your credentials (CDK_ARGS='-c key=value')
	$(BIN)/python -m cdk_app.preflight -c stage="$$STAGE" $(CDK_ARGS)
	$(CDK) deploy --require-approval $(APPROVAL) -c stage="$$STAGE" $(CDK_ARGS)

destroy: build $(NODE_STAMP) ## Delete the deployed stack of STAGE (default dev)
	$(CDK) destroy -c stage="$$STAGE" $(CDK_ARGS)

smoke: $(STAMP) ## Check a stage end to end as a new user, then delete it (STAGE=dev or STACK=..., or API_URL= LIVE_URL= STATE_MACHINE_ARN=; AWS_ENDPOINT_URL= for toro dev)
	STACK="$${STACK:-ToroAssistant-$(or $(STAGE),dev)}" $(BIN)/toro smoke

bench: $(APP) $(CHROMIUM) ## Print the measured figures: workflow latency, the local IAM check, retrieval, imports, cold starts, API, load, start and stop, sign-in memory, the page
	$(BIN)/python -m bench.workflow_latency
	$(BIN)/python -m bench.local_iam
	$(BIN)/python -m bench.retrieval
	$(BIN)/python -m bench.imports
	$(BIN)/python -m bench.cold_start
	$(BIN)/python -m bench.api_throughput
	$(BIN)/python -m bench.local_load
	$(BIN)/python -m bench.dev_lifecycle
	$(BIN)/python -m bench.sign_in_memory
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m bench.page_latency

clean: ## Remove the virtual environment, caches and build output
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build cdk.out node_modules api/web/static/vendor mutants
