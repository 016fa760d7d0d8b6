.PHONY: start stop test bootstrap clean-data cluster

# Runs the whole system on embedded defaults: Temporal dev server + Web UI, PGlite, worker, API, reference seller.
# exec: the system is the foreground process, so Ctrl-C reaches it directly and make has nothing to report.
# `make start DEMO_FAST=1` shortens the long durations to minutes for trying things (never in production).
start: bootstrap
	@exec node --import tsx scripts/start.ts

# Stops a `make start` of this checkout from another terminal.
stop:
	@node --import tsx scripts/stop.ts

# The production topology of docker-compose.yml as separate local processes, without Docker (README,
# "The cluster"). ARGS="--scale worker=3" scales a service; the first run builds the Temporal server.
cluster: bootstrap
	@exec node --import tsx scripts/cluster/main.ts $(ARGS)

# Everything CI runs: typecheck, lint, unit, workflow (time-skipping) and integration tests.
test:
	bash scripts/test.sh

bootstrap:
	@bash scripts/bootstrap.sh

clean-data:
	rm -rf .data
