#!/usr/bin/env bash
# The GPU check of the CUDA backend: the CUDA-vs-CPU tests, then every GPU benchmark, one table.
#
# On the development machine (nvcc, no GPU), once the project builds:
#   bash scripts/gpu-check.sh prepare
#     packs .device/ with ../shared/tools/device-bundle.sh (node, dist/, the addon built with nvcc,
#     production node_modules) and adds what the check needs under .device/app: the CUDA test and the
#     loss-curve tool bundled to plain JavaScript (the GPU machine has no tsx), the PyTorch reference
#     and this script.
# On the GPU machine (CUDA driver, Python with PyTorch, no Node.js), with .device/ beside the checkout:
#   bash .device/run.sh bash scripts/gpu-check.sh run
# Or in a full checkout on a GPU machine that has Node.js and the dev dependencies:
#   bash scripts/gpu-check.sh run
#
# `run` prints one table and writes gpu-check.json (to $OUT when set, else the current folder):
#   CUDA tests (pass/fail/skip), training throughput of the engine at the default config (batch 8,
#   window 1024) and of the PyTorch reference (eager and torch.compile) on the same GPU, achieved
#   TFLOP/s against the measured fp32 ceiling, the 200-step loss curves (engine vs PyTorch, max relative
#   difference), synthesis rate per stream at batch 1 and aggregate at batch 256.
# Environment: STEPS (loss-curve steps, 200), TORCH_FLAGS (extra flags for torch_reference.py bench,
# e.g. "--tf32" or "--full").
set -uo pipefail

mode=${1:-run}
if [ "$mode" = prepare ]; then
  set -e
  root=$(git rev-parse --show-toplevel)
  cd "$root"
  # device-bundle.sh records .device/ in .git/info/exclude; some checkouts lack .git/info (git init makes it)
  mkdir -p "$(git rev-parse --git-dir)/info"
  bash ../shared/tools/device-bundle.sh
  mkdir -p .device/app/test-dist .device/app/tools .device/app/scripts
  npx esbuild test/cuda.test.ts --bundle --platform=node --format=esm --outfile=.device/app/test-dist/cuda.test.mjs \
    --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" --log-level=warning
  npx esbuild scripts/cuda-loss-curve.ts --bundle --platform=node --format=esm --outfile=.device/app/tools/cuda-loss-curve.mjs \
    --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" --log-level=warning
  npx esbuild scripts/gpu-bench.ts --bundle --platform=node --format=esm --outfile=.device/app/tools/gpu-bench.mjs \
    --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" --log-level=warning
  cp scripts/torch_reference.py scripts/gpu-check.sh .device/app/scripts/
  # The check runs only the bundled tools above (no CLI), so the production node_modules are not needed
  # there; dropping them keeps .device/ well under the 64 MiB a device run can carry.
  rm -rf .device/app/node_modules
  du -sh .device
  echo "prepared .device/; on the GPU machine: bash .device/run.sh bash scripts/gpu-check.sh run"
  exit 0
fi
if [ "$mode" != run ]; then
  echo "usage: gpu-check.sh prepare | run" >&2
  exit 2
fi

here=$(pwd)
out=${OUT:-$here}
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/wavenet-gpu-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
log="$out/gpu-check.log"
: > "$log"
steps=${STEPS:-200}

# Entry points: the bundled .mjs tools (prepared .device/app) or a dev checkout (tsx).
if [ -f test-dist/cuda.test.mjs ]; then
  tests=(node --test test-dist/cuda.test.mjs)
  curve=(node tools/cuda-loss-curve.mjs)
  bench=(node tools/gpu-bench.mjs)
else
  tests=(node --import tsx --test test/cuda.test.ts)
  curve=(node --import tsx scripts/cuda-loss-curve.ts)
  bench=(node --import tsx scripts/gpu-bench.ts)
fi
torchref=scripts/torch_reference.py

echo "== GPU" | tee -a "$log"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$log" || true
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)

echo "== CUDA tests" | tee -a "$log"
"${tests[@]}" > "$work/tests.tap" 2>&1
tests_rc=$?
cat "$work/tests.tap" >> "$log"
grep -E '^# (tests|pass|fail|skipped)|^not ok|^# [a-z].*worst|^# (primed|after reset)' "$work/tests.tap" | head -80

echo "== bench train (engine, CUDA)" | tee -a "$log"
"${bench[@]}" train --device cuda --batch 8 --window 1024 --steps 20 > "$work/train.json" 2>> "$log"
train_rc=$?

echo "== bench synth (engine, CUDA)" | tee -a "$log"
"${bench[@]}" synth --device cuda --batch 1 --seconds 2 > "$work/synth1.json" 2>> "$log"
synth1_rc=$?
"${bench[@]}" synth --device cuda --batch 256 --seconds 1 > "$work/synth256.json" 2>> "$log"
synth256_rc=$?

echo "== loss curve: engine ($steps steps)" | tee -a "$log"
"${curve[@]}" --out "$work/curve" --device cuda --steps "$steps" --batch 8 --window 1024 2>&1 | tee -a "$log"
curve_rc=${PIPESTATUS[0]}

torch_ok=0
if python3 -c 'import torch' 2>/dev/null; then
  torch_ok=1
  echo "== loss curve: PyTorch" | tee -a "$log"
  python3 "$torchref" curve "$work/curve" --json "$work/torch_curve.json" 2>&1 | tee -a "$log"
  echo "== bench: PyTorch eager and torch.compile" | tee -a "$log"
  # shellcheck disable=SC2086
  python3 "$torchref" bench "$work/curve" --steps 20 ${TORCH_FLAGS:-} --json "$work/torch_bench.json" 2>&1 | tail -20 | tee -a "$log"
else
  echo "PyTorch is not importable here: the reference comparisons are skipped" | tee -a "$log"
fi

node - "$work" "$out/gpu-check.json" "$tests_rc" "$train_rc" "$synth1_rc" "$synth256_rc" "$curve_rc" "$torch_ok" "$gpu" <<'NODE'
const fs = require('fs');
const [work, outFile, testsRc, trainRc, s1Rc, s256Rc, curveRc, torchOk, gpu] = process.argv.slice(2);
const read = (f) => { try { return JSON.parse(fs.readFileSync(`${work}/${f}`, 'utf8')); } catch { return null; } };
const tap = (() => { try { return fs.readFileSync(`${work}/tests.tap`, 'utf8'); } catch { return ''; } })();
const count = (k) => Number((tap.match(new RegExp(`^# ${k} (\\d+)`, 'm')) || [])[1] ?? NaN);
const train = read('train.json'), s1 = read('synth1.json'), s256 = read('synth256.json');
const curve = read('curve/engine.json'), tc = read('torch_curve.json'), tb = read('torch_bench.json');
const rows = [];
const fmt = (v, d = 0) => (v === undefined || v === null || Number.isNaN(v) ? 'n/a' : Number(v).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const testsOk = testsRc === '0' && count('fail') === 0 && count('skipped') === 0 && count('pass') > 0;
rows.push(['CUDA tests', `${fmt(count('pass'))} pass, ${fmt(count('fail'))} fail, ${fmt(count('skipped'))} skipped`, testsOk ? 'ok' : count('skipped') > 0 ? 'NOT RUN (see the skip reason in gpu-check.log)' : 'FAILED']);
const eng = train?.samplesPerSec;
const eager = tb?.eager?.samplesPerSec, comp = tb?.compiled?.samplesPerSec;
rows.push(['train: engine (samples/s)', fmt(eng), trainRc === '0' ? `step ${fmt(train?.stepMs?.median, 2)} ms` : 'FAILED']);
rows.push(['train: torch eager', fmt(eager), tb?.eager?.error ?? (eng && eager ? `engine ${fmt(eng / eager, 2)}x (goal >= 2x)` : '')]);
rows.push(['train: torch.compile', fmt(comp), tb?.compiled?.error ?? (eng && comp ? `engine ${fmt(eng / comp, 2)}x (goal >= 1x)` : '')]);
const tflops = train ? train.gflops / 1000 : undefined;
const ceil = tb?.ceilings?.fp32MatmulTflops;
rows.push(['train: engine TFLOP/s', fmt(tflops, 2), ceil ? `${fmt((100 * tflops) / ceil, 1)}% of measured fp32 matmul ${fmt(ceil, 1)}` : '']);
rows.push(['card copy bandwidth GB/s', fmt(tb?.ceilings?.copyGBps), 'measured (torch copy_)']);
rows.push(['loss curve max rel diff', tc?.maxRelDiff !== undefined ? `${fmt(100 * tc.maxRelDiff, 3)}%` : 'n/a', tc?.maxRelDiff !== undefined ? (tc.within1pct ? 'ok (<= 1%)' : 'FAILED (> 1%)') : (curveRc === '0' ? 'no torch' : 'FAILED')]);
if (curve) rows.push(['loss: engine first -> last', `${fmt(curve.losses[0], 4)} -> ${fmt(curve.losses[curve.losses.length - 1], 4)}`, 'nats']);
if (tc) rows.push(['loss: torch first -> last', `${fmt(tc.losses[0], 4)} -> ${fmt(tc.losses[tc.losses.length - 1], 4)}`, 'nats']);
rows.push(['synth batch 1 (samples/s/stream)', fmt(s1?.samplesPerSecondPerStream), s1Rc === '0' ? `goal >= 48,000: ${s1?.samplesPerSecondPerStream >= 48000 ? 'met' : 'NOT met'}` : 'FAILED']);
rows.push(['synth batch 256 (aggregate)', fmt(s256?.samplesPerSecondAggregate), s256Rc === '0' ? `goal >= 8,000,000: ${s256?.samplesPerSecondAggregate >= 8e6 ? 'met' : 'NOT met'}` : 'FAILED']);
const w0 = Math.max(...rows.map((r) => r[0].length)), w1 = Math.max(...rows.map((r) => r[1].length));
console.log(`\n== wavenet GPU check on ${gpu || 'unknown GPU'}, ${new Date().toISOString()}`);
for (const r of rows) console.log(`${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  ${r[2]}`);
fs.writeFileSync(outFile, JSON.stringify({ gpu, date: new Date().toISOString(), rows, tests: { rc: Number(testsRc), pass: count('pass'), fail: count('fail'), skipped: count('skipped') }, train, synth1: s1, synth256: s256, engineCurve: curve, torchCurve: tc, torchBench: tb }, null, 2));
console.log(`(details: ${outFile} and gpu-check.log)`);
const ok = testsOk && [trainRc, s1Rc, s256Rc, curveRc].every((r) => r === '0') && (torchOk !== '1' || tc?.within1pct === true);
process.exitCode = ok ? 0 : 1;
NODE
exit $?
