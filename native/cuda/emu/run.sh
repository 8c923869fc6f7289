#!/usr/bin/env bash
# Builds and runs the CUDA backend under the CPU emulation (cuda_emu.h) against the CPU backend.
# Needs the addon built first (npm run build:native): links its CPU and core objects.
# Usage: bash native/cuda/emu/run.sh   (from the project root; ~1-3 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=build/cuda-emu
mkdir -p "$out"
obj=build/Release/obj.target
flags=(-std=c++20 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -pthread -Inative/include -Inative)
for f in train synth device; do
  g++ "${flags[@]}" -DWN_CUDA_EMULATE -include native/cuda/emu/cuda_emu.h -x c++ -c native/cuda/$f.cu -o "$out/$f.o" &
done
g++ "${flags[@]}" -include native/cuda/emu/cuda_emu.h -c native/cuda/emu/emu_check.cc -o "$out/emu_check.o" &
wait
core=$(ls $obj/wavenet/native/core/*.o $obj/wavenet/native/cpu/*.o $obj/wavenet/native/cpu/simd/*.o)
g++ "${flags[@]}" -o "$out/emu_check" "$out"/train.o "$out"/synth.o "$out"/device.o "$out"/emu_check.o $core $obj/wn_simd_avx2.a $obj/wn_simd_avx512.a -ldl
ASAN_OPTIONS=detect_leaks=1 "$out/emu_check"
