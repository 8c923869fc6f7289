#!/usr/bin/env bash
# Builds and runs the CUDA backend under the CPU emulation (cuda_emu.h) against the CPU backend.
# Needs the addon built first (npm run build:native): links its CPU and core objects.
# Usage: bash native/cuda/emu/run.sh [--addon | --synth]   (from the project root; ~4 minutes, +2.5 with --addon, on 2 cores)
#   --synth: only the synthesizer checks (sampling, prime, reset), built without the sanitizers: quicker
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=build/cuda-emu
mkdir -p "$out"
obj=build/Release/obj.target
flags=(-std=c++20 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -pthread -Inative/include -Inative)
if [ "${1:-}" = "--synth" ]; then
  out=build/cuda-emu-synth
  mkdir -p "$out"
  flags=(-std=c++20 -O2 -pthread -Inative/include -Inative)
fi
for f in train synth device; do
  g++ "${flags[@]}" -DWN_CUDA_EMULATE -include native/cuda/emu/cuda_emu.h -x c++ -c native/cuda/$f.cu -o "$out/$f.o" &
done
g++ "${flags[@]}" -include native/cuda/emu/cuda_emu.h -c native/cuda/emu/emu_check.cc -o "$out/emu_check.o" &
wait
# the core library of the addon (binding.gyp wn_core) and its SIMD variants; the archive holds only the
# current objects (a glob over obj.target would pick up those of renamed sources)
core=(-Wl,--start-group $obj/wn_core.a $obj/wn_simd_avx2.a $obj/wn_simd_avx512.a -Wl,--end-group)
g++ "${flags[@]}" -o "$out/emu_check" "$out"/train.o "$out"/synth.o "$out"/device.o "$out"/emu_check.o "${core[@]}" -ldl
if [ "${1:-}" = "--synth" ]; then exec "$out/emu_check" synth; fi
ASAN_OPTIONS=detect_leaks=1 "$out/emu_check"

# --addon: also build build/cuda-emu/wavenet-emu.node (the addon with the emulated CUDA backend) and run
# the small cases of test/cuda.test.ts against it (WAVENET_ADDON), which checks the JS path too.
if [ "${1:-}" = "--addon" ]; then
  for f in train synth device; do
    g++ -std=c++20 -O2 -fPIC -pthread -Inative/include -Inative -DWN_CUDA_EMULATE -include native/cuda/emu/cuda_emu.h \
      -x c++ -c native/cuda/$f.cu -o "$out/$f.pic.o" &
  done
  wait
  g++ -shared -pthread -o "$out/wavenet-emu.node" "$out"/train.pic.o "$out"/synth.pic.o "$out"/device.pic.o \
    $obj/wavenet/native/src/*.o "${core[@]}"
  WAVENET_ADDON="$PWD/$out/wavenet-emu.node" node --import tsx --test \
    --test-name-pattern="small model|several tiles|memory|batch 1|batch 9" test/cuda.test.ts
fi
