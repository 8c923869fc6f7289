#!/usr/bin/env bash
# The test command (README: `npm test`). Runs every test file with Node's runner through tsx.
# Tests that need ../shared/audio or a GPU skip with a message when those are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/Release/wavenet.node ]; then
  echo "wavenet: the native addon is not built; run npm ci first" >&2
  exit 1
fi
exec node --import tsx --test --test-concurrency=1 "$@" test/*.test.ts
