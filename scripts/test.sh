#!/usr/bin/env bash
# The test command (README: `npm test`). Runs every test file with Node's runner through tsx, with the
# SIMD variant the library picks (the best this CPU has); then, for a full run, the numerical suites once
# more per other variant the CPU supports (WAVENET_KERNELS=generic|avx2|avx512): gradients against finite
# differences and tfjs, incremental synthesis against the full forward pass, determinism, bf16 bounds.
# `npm test -- test/x.test.ts` runs only the files named (no variant reruns); WAVENET_TEST_VARIANTS=0
# skips the reruns. Tests that need ../shared/audio or a GPU skip with a message when those are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/Release/wavenet.node ]; then
  echo "wavenet: the native addon is not built; run npm ci first" >&2
  exit 1
fi
if [ $# -gt 0 ]; then
  exec node --import tsx --test --test-concurrency=1 "$@"
fi
node --import tsx --test --test-concurrency=1 test/*.test.ts
[ "${WAVENET_TEST_VARIANTS:-1}" = 0 ] && exit 0

numerical=(test/kernels.test.ts test/train-grad.test.ts test/train-tfjs.test.ts test/synth-native.test.ts)
kernels_with() { WAVENET_KERNELS="$1" node -e 'process.stdout.write(require("./build/Release/wavenet.node").cpuFeatures().kernels)'; }
default="$(kernels_with "${WAVENET_KERNELS:-}")"
for k in generic avx2 avx512; do
  [ "$k" = "$default" ] && continue
  if [ "$(kernels_with "$k")" != "$k" ]; then
    echo "# kernels $k: not supported by this CPU, numerical suites not rerun"
    continue
  fi
  echo "# numerical suites again with WAVENET_KERNELS=$k"
  WAVENET_KERNELS="$k" node --import tsx --test --test-concurrency=1 "${numerical[@]}"
done
