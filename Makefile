# The only entry point. `make` (or `make help`) lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt | sha256sum | cut -c1-12)

.PHONY: help install lint lock build lambda-deps test test-unit test-integration validate run up deploy bench chaos test-sfn-local clean console-deps browser-deps test-console iam-report verify-deployed

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required, found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## Create .venv with the pinned tools (done automatically by the other targets)

lint: $(STAMP) ## ruff; cfn-lint on template.yaml and its SAM transform (E3601 on the ASL); ASL parse; locks and size table current
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/cfn-lint template.yaml
	$(PY) tools/lint_transformed.py
	$(PY) tools/check_asl.py
	$(PY) tools/lock_lambda_requirements.py --check
	$(PY) tools/message_size_limits.py --check

# Deploy tooling lives in its own venv: aws-sam-cli pins a boto3 range of its own.
DEPLOY_VENV := .venv-deploy
SAM := SAM_CLI_TELEMETRY=0 $(DEPLOY_VENV)/bin/sam
DEPLOY_STAMP := $(DEPLOY_VENV)/.installed-$(shell cat requirements-deploy.txt | sha256sum | cut -c1-12)
# `sam validate --lint` is offline, but needs a region name.
VALIDATE_REGION ?= us-east-1
# Extra arguments for `sam deploy`, e.g. DEPLOY_ARGS="--config-env prod" once samconfig.toml exists.
DEPLOY_ARGS ?= --guided

$(DEPLOY_STAMP): requirements-deploy.txt
	@test -x $(DEPLOY_VENV)/bin/python || $(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-deploy.txt
	@rm -f $(DEPLOY_VENV)/.installed-* && touch $@

validate: $(STAMP) $(DEPLOY_STAMP) ## The template checks of lint + `sam validate --lint` (offline)
	$(VENV)/bin/cfn-lint template.yaml
	$(PY) tools/lint_transformed.py
	$(PY) tools/check_asl.py
	$(SAM) validate --lint --region $(VALIDATE_REGION) --template template.yaml

# The layer and functions are built by lambdas/Makefile (BuildMethod: makefile): pip installs each
# requirements-lock.txt as wheels for the template's Runtime and Architectures, on any host.
BUILD_DIR := .aws-sam/build

lock: $(STAMP) ## Re-resolve lambdas/*/requirements-lock.txt (cp314/aarch64 wheels, sha256) from requirements.txt
	$(PY) tools/lock_lambda_requirements.py

build: $(STAMP) $(DEPLOY_STAMP) ## sam build without python3.14 or Docker; checks every .so is aarch64, prints sizes
	$(PY) tools/lock_lambda_requirements.py --check
	LAMBDA_TARGET="$$($(PY) tools/lock_lambda_requirements.py --print-target)" \
		BUILD_PYTHON=$(abspath $(DEPLOY_VENV))/bin/python \
		$(SAM) build --template template.yaml --build-dir $(BUILD_DIR)
	$(PY) tools/build_report.py $(BUILD_DIR)

deploy: validate build ## make build, then sam deploy --guided (needs AWS credentials)
	$(SAM) deploy --template-file $(BUILD_DIR)/template.yaml $(DEPLOY_ARGS)

# The web console's browser libraries (cytoscape, cytoscape-dagre, chart.js) come from the npm
# registry, pinned by package-lock.json, and are served from node_modules at run time.
CONSOLE_STAMP := node_modules/.installed-$(shell cat package-lock.json | sha256sum | cut -c1-12)

$(CONSOLE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20+) is needed for the web console's libraries: install nodejs and npm (Debian: apt-get install -y nodejs npm)" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@rm -f node_modules/.installed-* && touch $@

console-deps: $(CONSOLE_STAMP) ## npm ci: the web console's JS libraries (done by test and up)

# Debian's chromium + chromedriver for the browser tests of the web console.
browser-deps: ## Install chromium and chromium-driver (apt, as root) when missing
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
		echo "The web console tests need Chromium and its driver: run 'sudo apt-get install -y chromium chromium-driver' (Debian/Ubuntu), or as root: make browser-deps" >&2; \
		exit 1; \
	fi

test-console: $(STAMP) $(CONSOLE_STAMP) browser-deps ## The inspection CLI and web console tests only
	$(PY) -m pytest tests/pipeline_tools tests/integration/test_runs_cli.py tests/integration/test_console_browser.py

# pytest-xdist: two workers (each with its own local stack on a free port) per core, because the
# suite waits about half of its time (SQS redeliveries, retry intervals, browser pages); tests are
# handed out in the order tests/conftest.py sets (the small chaos run first), modules that share
# an expensive module fixture stay on one worker (xdist_group). docs/testing.md, "Suite time"
TEST_WORKERS ?= $(shell echo $$((2 * $$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1))))
XDIST := -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

# The Lambda functions' packages (.build/deps, cached by requirements hash) are installed before
# the tests start, as the venvs are: otherwise every worker's first deploy waits on the same pip.
LAMBDA_REQUIREMENTS := $(wildcard lambdas/*/requirements.txt) $(shell find tests -name requirements.txt)

lambda-deps: $(STAMP) ## Install the local Lambda runtime's packages and each function's requirements (done by test)
	@$(PY) -m local_aws.awslambda.packages $(LAMBDA_REQUIREMENTS) > /dev/null

# The deploy venv is made before the tests start: tests/workflow/test_lambda_build.py runs
# `make build`, and creating .venv-deploy (pip upgrading itself) inside the parallel suite failed.
test: $(STAMP) $(CONSOLE_STAMP) $(DEPLOY_STAMP) browser-deps lambda-deps ## Run every test on every core (unit, template/ASL, integration, web console in Chromium, small chaos run, fuzzing, security)
	$(PY) -m pytest $(XDIST)

test-integration: $(STAMP) $(CONSOLE_STAMP) browser-deps lambda-deps ## The tests on the local stack with the pipe running (tests/integration, web console included)
	$(PY) -m pytest $(XDIST) tests/integration

# Step Functions Local in Docker with statemachine/test/MockConfigFile.json (docker-compose.yml).
# The same test cases run without Docker in `make test` (tests/mock_config). docs/testing.md, "Mocked test cases"
DOCKER_COMPOSE ?= docker compose
SFN_LOCAL_ENDPOINT ?= http://localhost:8083

test-sfn-local: $(STAMP) ## Mock-config test cases on Step Functions Local in Docker (compose up, test, down)
	@command -v docker >/dev/null 2>&1 || { echo "test-sfn-local: no Docker engine: the 'docker' command is not installed. The same test cases run without Docker in 'make test' (tests/mock_config)." >&2; exit 1; }
	@docker info >/dev/null 2>&1 || { echo "test-sfn-local: no Docker engine reachable ('docker info' failed: is the daemon running?). The same test cases run without Docker in 'make test' (tests/mock_config)." >&2; exit 1; }
	@$(DOCKER_COMPOSE) version >/dev/null 2>&1 || { echo "test-sfn-local: '$(DOCKER_COMPOSE)' is not available (install the Compose plugin, or DOCKER_COMPOSE=docker-compose)." >&2; exit 1; }
	$(DOCKER_COMPOSE) up -d
	@status=0; \
	SFN_LOCAL_ENDPOINT=$(SFN_LOCAL_ENDPOINT) SFN_LOCAL_REQUIRED=1 SFN_LOCAL_WAIT_SECONDS=60 \
		$(PY) -m pytest tests/sfn_local || status=$$?; \
	$(DOCKER_COMPOSE) down; \
	exit $$status

# make verify-deployed STACK=<name> [CLEANUP=1]; AWS_ENDPOINT_URL=http://127.0.0.1:4577 for `make up`
verify-deployed: $(STAMP) ## Acceptance run on a deployed stack (STACK=<name>; CLEANUP=1 removes its marked messages)
	@test -n "$(STACK)" || { echo "usage: make verify-deployed STACK=<stack name> [CLEANUP=1]" >&2; exit 2; }
	$(PY) tools/verify_deployed.py --stack $(STACK) $(if $(CLEANUP),--cleanup)

iam-report: $(STAMP) ## Integration tests under IAM enforcement, then each role's grants x calls (artifacts/iam/)
	$(PY) -m pytest tests/integration -q --ignore=tests/integration/test_console_browser.py

test-unit: $(STAMP) ## Unit tests of the four Lambdas only
	$(PY) -m pytest tests/unit

# make bench N=200 G=4 BENCH_ARGS="--batch-size 10"; the JSON report goes to artifacts/bench/.
# Target-specific defaults (like `make chaos`'s), so the two targets keep their own N and G.
bench: N ?= 1000
bench: G ?= 8
bench: BENCH_ARGS ?=

bench: $(STAMP) ## Benchmark: N messages (1000) over G groups (8): msg/s, latency, cold starts, RSS, cost/1M, baseline
	$(PY) benchmarks/bench.py --messages $(N) --groups $(G) $(BENCH_ARGS)

run: $(STAMP) ## The demo: local stack + template.yaml + demo messages, per-message report (exit 0 = as expected)
	$(PY) -m pipeline_tools run

up: $(STAMP) $(CONSOLE_STAMP) ## Keep the local stack running with template.yaml deployed; prints CLI/boto3 examples (Ctrl-C)
	$(PY) -m pipeline_tools up

# make chaos N=500 G=10 FUZZ_EXAMPLES=2000 for a shorter run
# Target-specific defaults: `make bench` has its own N and G.
chaos: N ?= 2000
chaos: G ?= 20
chaos: FUZZ_EXAMPLES ?= 10000

chaos: $(STAMP) ## Chaos run: N=2000 messages, G=20 groups, random faults + outages, invariant table; then fuzz Validate (2 x 10,000 examples)
	$(PY) -m reliability.chaos --messages $(N) --groups $(G)
	$(PY) -m reliability.fuzz --examples $(FUZZ_EXAMPLES)

clean: ## Remove the venv, build caches and artifacts
	rm -rf $(VENV) $(DEPLOY_VENV) node_modules .build .aws-sam .pytest_cache .ruff_cache .hypothesis .bench artifacts .local-stack
