#!/usr/bin/env bash
# `npm run demo`: the whole loop on the bundled recordings (datasets/demo/recordings), in this folder:
#   1. ingest them into datasets/demo-ambient (idempotent: a rerun changes nothing),
#   2. a short training run of a small model into runs/demo-quick (started afresh each time),
#   3. synthesize 5 s from it (demo-quick.wav) and 10 s from the bundled model (demo-bundled.wav).
# A few minutes on 2 CPU cores. The short run only shows the loop working: its audio is mostly noise;
# models/demo/ holds the model trained longer by the command in models/demo/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
wavenet() { node bin/wavenet.js "$@"; }
wavenet ingest datasets/demo/recordings --out datasets/demo-ambient
rm -rf runs/demo-quick
wavenet train --data datasets/demo-ambient --run runs/demo-quick --dilations 8x1 --residual-channels 16 \
  --dilation-channels 16 --skip-channels 64 --head-channels 64 --window 1024 --batch 4 --steps 300 \
  --checkpoint-every 300 --val-every 100 --seed 1
wavenet synth --model runs/demo-quick --seconds 5 --seed 1 --out demo-quick.wav
wavenet synth --model models/demo/model.safetensors --seconds 10 --seed 1 --out demo-bundled.wav
echo "demo: listen to demo-quick.wav (300 steps) and demo-bundled.wav (the bundled model)"
