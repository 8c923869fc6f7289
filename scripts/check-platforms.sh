#!/usr/bin/env bash
# Checks the builds and CPUs users have, on one x86-64 Linux machine (README "Platforms"):
#   isa        the built addon: AVX-512 code only in the avx512 variant, AVX/AVX2/FMA only in avx2/avx512,
#              nothing ISA-specific running before dispatch (scripts/check-isa.mjs)
#   x86-64     the native core test (native/test/core_test.cc) built with g++ -Wall -Wextra -Werror, run once
#              per SIMD variant this CPU supports (WAVENET_KERNELS=generic|avx2|avx512)
#   clang      the same test built with clang++ (warnings are errors), and the whole addon built by node-gyp
#              with clang (no warning allowed) and put through the isa check
#   arm64      the core cross-compiled with aarch64-linux-gnu-g++ and its test run under qemu-aarch64
#   haswell    the CLI (info, train, synth, render) under qemu-x86_64 -cpu Haswell (AVX2, no AVX-512),
#              outputs compared byte for byte with the same commands run natively with WAVENET_KERNELS=avx2
#   nehalem    the same under -cpu Nehalem (SSE4.2, no AVX) against native WAVENET_KERNELS=generic
# Prints one line per platform at the end; logs go to $CHECK_PLATFORMS_DIR (default: a temp folder).
# Missing tools (objdump, qemu-user, the cross compiler, clang): with CI=true a failure, else a skip with a
# message. Usage: scripts/check-platforms.sh [isa x86-64 clang arm64 haswell nehalem] (default: all).
set -uo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
work="${CHECK_PLATFORMS_DIR:-$(mktemp -d /tmp/wavenet-platforms.XXXXXX)}"
mkdir -p "$work"
wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(isa x86-64 clang arm64 haswell nehalem)
summary=()
failed=0
export WAVENET_THREADS=2  # the same thread count natively and under emulation
t_all=$SECONDS

want() { local w; for w in "${wanted[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }
line() {  # platform status detail seconds
  summary+=("$(printf '%-9s %-4s %s (%ss)' "$1" "$2" "$3" "$4")")
  [ "$2" = FAIL ] && failed=1
  echo "== $1: $2 $3" >&2
}
# A required tool: returns 1 (and records a skip, or a failure in CI) when it is missing.
need() {  # platform tool...
  local p="$1" t missing=""
  shift
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing="$missing $t"; done
  [ -z "$missing" ] && return 0
  if [ "${CI:-}" = true ]; then
    line "$p" FAIL "missing:$missing (CI must install it: .ci/run)" 0
  else
    line "$p" skip "missing:$missing (apt-get install qemu-user binutils g++-aarch64-linux-gnu libc6-dev-arm64-cross clang)" 0
  fi
  return 1
}
# Runs a command with its output in a log; on failure shows the log's tail.
logged() {  # logfile cmd...
  local log="$1" rc
  shift
  "$@" >"$log" 2>&1
  rc=$?
  [ $rc = 0 ] && return 0
  echo "-- $log (exit $rc), last lines:" >&2
  grep -v "TCG doesn't support requested feature" "$log" | tail -n 25 >&2
  return $rc
}

if [ ! -f build/Release/wavenet.node ] || [ ! -f dist/cli.js ]; then
  echo "check-platforms: build first (npm ci, or npm run build)" >&2
  exit 2
fi

# ------------------------------------------------------------------------------------------------ isa
if want isa && need isa objdump nm readelf; then
  t=$SECONDS
  if out=$(node scripts/check-isa.mjs 2>&1); then
    line isa ok "$(echo "$out" | sed -n 's/^check-isa: ok: \([0-9]*\) instructions.*; \([0-9]*\) per-ISA objects.*/\1 instructions, \2 per-ISA objects: no ISA code outside its variant/p')" $((SECONDS - t))
  else
    echo "$out" >&2
    line isa FAIL "$(echo "$out" | sed -n '2s/^ *//p' | cut -c1-200)" $((SECONDS - t))
  fi
fi

# Runs core_test once per variant the CPU supports; prints "generic avx2 avx512" style result words.
run_core_variants() {  # exe logprefix
  local k got res="" bad=0
  for k in generic avx2 avx512; do
    if ! "$1" "$k" >"$2-$k.log" 2>&1; then
      grep -E '^FAIL|FAILED' "$2-$k.log" >&2
      res="$res $k:FAIL"
      bad=1
      continue
    fi
    got=$(sed -n 's/^core_test: .*, kernels \([a-z0-9]*\),.*/\1/p' "$2-$k.log")
    if [ "$got" = "$k" ]; then res="$res $k"; else res="$res ($k: not on this CPU)"; fi
  done
  echo "$res"
  return $bad
}

# ------------------------------------------------------------------------------------------------ x86-64
if want x86-64 && need x86-64 g++; then
  t=$SECONDS
  if logged "$work/gcc-build.log" env CXX=g++ native/test/build.sh "$work/gcc"; then
    if res=$(run_core_variants "$work/gcc/core_test" "$work/gcc-run"); then
      line x86-64 ok "core test (g++ -Wall -Wextra -Werror), kernels:$res" $((SECONDS - t))
    else
      line x86-64 FAIL "core test failed, kernels:$res (logs $work/gcc-run-*.log)" $((SECONDS - t))
    fi
  else
    line x86-64 FAIL "g++ build of the core test failed (warnings are errors): $work/gcc-build.log" $((SECONDS - t))
  fi
fi

# ------------------------------------------------------------------------------------------------ clang
if want clang && need clang clang++ objdump; then
  t=$SECONDS
  detail=""
  status=ok
  if logged "$work/clang-build.log" env CXX=clang++ native/test/build.sh "$work/clang"; then
    if res=$(run_core_variants "$work/clang/core_test" "$work/clang-run"); then detail="core test kernels:$res"
    else status=FAIL; detail="core test failed:$res"; fi
  else
    status=FAIL
    detail="clang++ build of the core test failed (warnings are errors): $work/clang-build.log"
  fi
  # The whole addon through node-gyp, in a copy of the sources (the checkout's build/ stays as it is).
  src="$work/clang-addon"
  rm -rf "$src"
  mkdir -p "$src"
  git ls-files -z --cached --others --exclude-standard binding.gyp package.json scripts native | xargs -0 cp --parents -t "$src"
  ln -s "$root/node_modules" "$src/node_modules"
  if (cd "$src" && logged "$work/clang-addon.log" env CC=clang CXX=clang++ WAVENET_CUDA=0 node scripts/build-native.mjs); then
    if grep -E 'warning:' "$work/clang-addon.log" >&2; then
      status=FAIL
      detail="$detail; addon: clang warnings ($work/clang-addon.log)"
    elif out=$(node scripts/check-isa.mjs "$src/build/Release/wavenet.node" 2>&1); then
      detail="$detail; addon builds warning-free, isa check ok"
    else
      echo "$out" >&2
      status=FAIL
      detail="$detail; addon: isa check failed"
    fi
  else
    status=FAIL
    detail="$detail; addon: node-gyp build with clang failed ($work/clang-addon.log)"
  fi
  line clang "$status" "$(clang++ --version | head -1 | sed 's/ (.*//'): $detail" $((SECONDS - t))
fi

# ------------------------------------------------------------------------------------------------ arm64
if want arm64 && need arm64 aarch64-linux-gnu-g++ qemu-aarch64; then
  t=$SECONDS
  if logged "$work/arm64-build.log" env CXX=aarch64-linux-gnu-g++ native/test/build.sh "$work/arm64"; then
    if logged "$work/arm64-run.log" qemu-aarch64 -L /usr/aarch64-linux-gnu "$work/arm64/core_test"; then
      line arm64 ok "core cross-compiled (aarch64-linux-gnu-g++ -Werror), core test passes under qemu-aarch64: $(grep -c '^ok ' "$work/arm64-run.log") checks" $((SECONDS - t))
    else
      line arm64 FAIL "core test under qemu-aarch64 failed ($work/arm64-run.log)" $((SECONDS - t))
    fi
  else
    line arm64 FAIL "cross build failed ($work/arm64-build.log)" $((SECONDS - t))
  fi
fi

# ------------------------------------------------------------------------------------------------ emulated x86 CPUs
# The CLI under qemu-x86_64 -cpu CPU against the same commands run natively with the variant that CPU
# should get. A tiny model and a fraction of a second of audio: the emulator is about 10x slower.
dataset_ready=""
make_dataset() {
  [ -n "$dataset_ready" ] && return 0
  node -e '
    const fs = require("fs"); const sr = 16000, n = sr * 3, b = Buffer.alloc(44 + n * 2);
    b.write("RIFF", 0); b.writeUInt32LE(36 + n * 2, 4); b.write("WAVEfmt ", 8); b.writeUInt32LE(16, 16);
    b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(sr, 24); b.writeUInt32LE(sr * 2, 28);
    b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34); b.write("data", 36); b.writeUInt32LE(n * 2, 40);
    let s = 1;
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const t = i / sr, v = 0.5 * Math.sin(2 * Math.PI * (110 + 200 * t) * t) + 0.1 * (s / 4294967296 - 0.5);
      b.writeInt16LE(Math.round(v * 32767), 44 + 2 * i);
    }
    fs.writeFileSync(process.argv[1], b);' "$work/tone.wav" &&
    logged "$work/ingest.log" node bin/wavenet.js ingest "$work/tone.wav" --out "$work/datasets/tone" --chunk 1s &&
    dataset_ready=1
}

emulated() {  # platform qemu-cpu kernels [env for the native reference...]
  local p="$1" cpu="$2" k="$3"
  shift 3
  local t=$SECONDS d="$work/$p" rc
  local qemu=(qemu-x86_64 -cpu "$cpu")
  rm -rf "$d"
  mkdir -p "$d/native/synth" "$d/emulated/synth"
  if ! make_dataset; then line "$p" FAIL "could not make the test dataset ($work/ingest.log)" $((SECONDS - t)); return; fi
  local node_bin
  node_bin="$(command -v node)"
  local model=(--dilations 1,2,4,8 --residual-channels 8 --dilation-channels 8 --skip-channels 16 --head-channels 16)
  local train=(train --data "$work/datasets/tone" "${model[@]}" --window 32 --batch 2 --steps 2 --checkpoint-every 2 --val-every 0 --seed 1 --device cpu)
  # info: the kernels the emulated CPU gets
  logged "$d/info.log" "${qemu[@]}" "$node_bin" bin/wavenet.js info --devices --json
  rc=$?
  if [ $rc != 0 ]; then
    line "$p" FAIL "wavenet info --devices under qemu -cpu $cpu exited $rc$([ $rc = 132 ] && echo ' (illegal instruction)'): $d/info.log" $((SECONDS - t))
    return
  fi
  local got
  got=$(grep -v "TCG doesn't support" "$d/info.log" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).cpu.kernels))')
  if [ "$got" != "$k" ]; then
    line "$p" FAIL "wavenet info under -cpu $cpu reports kernels '$got', expected $k" $((SECONDS - t))
    return
  fi
  local side runner ok=1
  for side in native emulated; do
    if [ $side = native ]; then runner=(env WAVENET_KERNELS="$k" "$@" "$node_bin"); else runner=("${qemu[@]}" "$node_bin"); fi
    logged "$d/$side-train.log" "${runner[@]}" bin/wavenet.js "${train[@]}" --run "$d/$side/run" &&
      logged "$d/$side-synth.log" "${runner[@]}" bin/wavenet.js synth --model "$d/native/run" --seconds 0.1 --seed 5 --out "$d/$side/synth/take.wav" --device cpu &&
      logged "$d/$side-render.log" "${runner[@]}" bin/wavenet.js render --model "$d/native/run" --count 2 --seconds 0.1 --seed 3 --out-dir "$d/$side/render" --no-sheet --device cpu ||
      { ok=0; break; }
  done
  if [ $ok = 0 ]; then
    line "$p" FAIL "a CLI command failed under -cpu $cpu or natively (logs in $d)" $((SECONDS - t))
  elif cmp_out=$(node scripts/compare-outputs.mjs "$d/native" "$d/emulated" 2>&1); then
    line "$p" ok "qemu -cpu $cpu: kernels $k; train, synth, render byte-identical to native WAVENET_KERNELS=$k ($(echo "$cmp_out" | sed -n 's/^identical: \([0-9]*\) files.*/\1 files/p'))" $((SECONDS - t))
  else
    echo "$cmp_out" >&2
    line "$p" FAIL "outputs under -cpu $cpu differ from native WAVENET_KERNELS=$k: $(echo "$cmp_out" | head -1)" $((SECONDS - t))
  fi
}

if want haswell && need haswell qemu-x86_64; then
  # glibc's libm picks its FMA variants both natively (any FMA CPU) and on Haswell: the same code path.
  emulated haswell Haswell avx2
fi
if want nehalem && need nehalem qemu-x86_64; then
  # Without FMA, glibc's libm uses its SSE2 variants of exp/log/pow, which differ from the FMA ones by at
  # most 1 ulp in about 0.07% of results (measured: 1e6 arguments each). The native reference hides
  # AVX/AVX2/FMA from glibc (GLIBC_TUNABLES) so that it takes the same libm path as Nehalem: the
  # comparison stays byte for byte.
  emulated nehalem Nehalem generic GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA,-AVX
fi

echo
echo "check-platforms: $(uname -m) $(nproc 2>/dev/null) cores, $((SECONDS - t_all)) s, logs in $work"
for s in "${summary[@]}"; do echo "$s"; done
exit $failed
