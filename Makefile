# The two commands of the README are `make run` and `make test`; everything else here serves them.
SHELL := /bin/bash
DOTNET ?= dotnet
CONFIGURATION ?= Release
ARGS ?=
PARCA_ARGS ?=
AGENT_ARGS ?=
AGENT ?= 1
RESULTS := artifacts/test-results
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

.PHONY: format-check run test build bootstrap-run bootstrap-test bpf ui ui-test bench bench-ui format clean

## run: build everything, start parca on :7070 and (as root) parca-agent shipping to it
##      flags: PARCA_ARGS="--log-level=debug" AGENT_ARGS="..."; AGENT=0 runs the server alone
run: bootstrap-run build
	CONFIGURATION=$(CONFIGURATION) PARCA_ARGS="$(PARCA_ARGS) $(ARGS)" AGENT_ARGS="$(AGENT_ARGS)" AGENT=$(AGENT) scripts/run.sh

## test: build everything and run every test suite
##      The agent's kernel tests run first and alone: they sample real CPUs and assert shares of real stacks, and with
##      every other suite running at once on a 2-core machine their tracees and the agent itself were starved.
##      Then the other suites run in parallel.
TEST_FLAGS = -c $(CONFIGURATION) --no-build --logger "trx" --logger "console;verbosity=normal" --results-directory $(RESULTS)
test: bootstrap-test build format-check
	rm -rf $(RESULTS)
	status=0; \
	  $(DOTNET) test test/Parca.Agent.Tests $(TEST_FLAGS) || status=1; \
	  $(DOTNET) test Parca.slnx $(TEST_FLAGS) --filter "FullyQualifiedName!~Parca.Agent.Tests." || status=1; \
	  $(MAKE) --no-print-directory ui-test || status=1; scripts/test-summary.sh $(RESULTS); exit $$status

build: ui
	$(DOTNET) build Parca.slnx -c $(CONFIGURATION) -nologo -clp:ErrorsOnly

## ui: build the web UI into src/Parca.Server/wwwroot/app (served by parca at / and under --path-prefix)
ui:
	cd ui && npm run build

## ui-test: the UI's unit tests (Vitest) and the browser end-to-end test against a real parca (Chromium)
ui-test:
	cd ui && npm test
	cd ui && npm run e2e

## bench-ui: flame graph rendering benchmark in headless Chromium (10k / 100k / 1M nodes)
bench-ui:
	node bench/ui/run.mjs

bootstrap-run:
	scripts/bootstrap.sh run

bootstrap-test:
	scripts/bootstrap.sh test

## bench: run the BenchmarkDotNet suites (FILTER='*Decode*' to pick)
FILTER ?= *
bench: build
	$(DOTNET) run -c Release --project bench/Parca.Benchmarks -- --filter '$(FILTER)'

format:
	$(DOTNET) format Parca.slnx

## format-check: fail when code style (whitespace, usings, naming) differs from .editorconfig
format-check:
	$(DOTNET) format Parca.slnx --verify-no-changes --no-restore

clean:
	rm -rf artifacts src/*/bin src/*/obj test/*/bin test/*/obj bench/*/bin bench/*/obj
