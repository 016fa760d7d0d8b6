#!/bin/sh
# The SDK starts the dev server with the test process's stdout, and its banner would land between test
# results. Errors still reach stderr.
exec "${TEMPORAL_CLI:-$(dirname "$0")/../../.tools/bin/temporal}" "$@" >/dev/null
