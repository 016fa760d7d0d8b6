.PHONY: start test bootstrap clean-data

# Runs the whole system on embedded defaults: Temporal dev server + Web UI, PGlite, worker, API.
start: bootstrap
	npx tsx scripts/start.ts

# Everything CI runs: typecheck, lint, unit, workflow (time-skipping) and integration tests.
test:
	bash scripts/test.sh

bootstrap:
	bash scripts/bootstrap.sh

clean-data:
	rm -rf .data
