#!/usr/bin/env bash
# `npm run demo [-- DIR]`: the whole loop on the bundled recordings (datasets/demo/recordings), in DIR
# (default: a new temporary folder, printed at the end); nothing is written into the checkout:
#   1. ingest them into DIR/datasets/demo-ambient (idempotent: a rerun changes nothing),
#   2. a short training run of a small model into DIR/runs/demo-quick (started afresh each time),
#   3. synthesize 5 s from it (DIR/demo-quick.wav) and 10 s from the bundled model (DIR/demo-bundled.wav).
# A few minutes on 2 CPU cores. The short run only shows the loop working: its audio is mostly noise;
# models/demo/ holds the model trained longer by the command in models/demo/README.md.
# WAVENET_DEMO_STEPS (default 300) sets the length of the training run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ $# -gt 1 ]; then echo "usage: npm run demo [-- DIR]" >&2; exit 2; fi
dir="${1:-}"
if [ -z "$dir" ]; then dir="$(mktemp -d "${TMPDIR:-/tmp}/wavenet-demo-XXXXXX")"; fi
dir="$(realpath -m "$dir")"
case "$dir/" in
  "$root"/*) echo "demo: $dir is inside the checkout; give a folder outside it" >&2; exit 2 ;;
esac
mkdir -p "$dir"
cd "$dir"
wavenet() { node "$root/bin/wavenet.js" "$@"; }
wavenet ingest "$root/datasets/demo/recordings" --out datasets/demo-ambient
rm -rf runs/demo-quick
wavenet train --data datasets/demo-ambient --run runs/demo-quick --dilations 8x1 --residual-channels 16 \
  --dilation-channels 16 --skip-channels 64 --head-channels 64 --window 1024 --batch 4 --steps "${WAVENET_DEMO_STEPS:-300}" \
  --checkpoint-every 300 --val-every 100 --seed 1
wavenet synth --model runs/demo-quick --seconds 5 --seed 1 --out demo-quick.wav
wavenet synth --model "$root/models/demo/model.safetensors" --seconds 10 --seed 1 --out demo-bundled.wav
echo "demo: everything is in $dir"
echo "demo: listen to $dir/demo-quick.wav (short training run) and $dir/demo-bundled.wav (the bundled model)"
