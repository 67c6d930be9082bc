# The two commands a newcomer needs: `make demo` and `make test`. Everything else is optional.
SHELL := /bin/bash
ROOT  := $(CURDIR)
export PATH := $(ROOT)/.venv/bin:$(ROOT)/node_modules/.bin:$(PATH)
export PYTHONDONTWRITEBYTECODE := 1
NET := python tools/brownie_net.py run

.PHONY: setup demo test test-contract test-python lint bench stateful fuzz fuzz-short node clean

setup:            ## install everything (idempotent, offline apart from PyPI and npm)
	@tools/setup.sh

demo: setup       ## the main job: consensus learning on a local Ganache it starts and stops
	cl-client simulate $(ARGS)

test: setup       ## the whole suite: contract tests on Ganache (and part on Anvil), client/simulation tests, lint
	@tools/run_tests.sh

lint: setup       ## static analysis of the contracts (slither)
	@tools/lint.sh

bench: setup      ## gas and latency benchmarks; regenerates docs/benchmarks.md
	$(NET) -- brownie run scripts/benchmark.py main

stateful: setup   ## the long stateful property test (>= 200 sequences)
	CL_STATEFUL_EXAMPLES=200 $(NET) -- brownie test tests/contract/test_stateful.py

# Both fuzz the contract as Brownie builds it (build/contracts; docs/fuzzing.md), so they compile it first.
fuzz: setup       ## the long Foundry invariant run (>= 100,000 handler calls; docs/fuzzing.md)
	brownie compile >/dev/null
	FOUNDRY_PROFILE=fuzz forge test $(ARGS)

fuzz-short: setup ## 4,000 handler calls with a fixed seed (also part of make test)
	brownie compile >/dev/null
	tools/fuzz_short.sh $(ARGS)

node: setup       ## a standalone local chain for separate participant processes (Ctrl-C stops it)
	cl-client node

clean:
	rm -rf build reports .setup .hypothesis
