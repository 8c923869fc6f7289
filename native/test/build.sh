#!/usr/bin/env bash
# Builds native/test/core_test (the core over its C API, no Node) with any C++ compiler:
#   native/test/build.sh [OUTDIR]          CXX=g++ (default), clang++, aarch64-linux-gnu-g++ ...
# The flags are the addon's (scripts/gyp.mjs cflags / isa-flags, also read by binding.gyp) plus -Wextra
# -Werror: a warning fails the build. On x86-64 the files of native/cpu/simd are compiled three times
# (generic, avx2, avx512) as in the addon; elsewhere only the generic variant exists.
# Prints the path of the executable on the last line.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/build/core_test}"
cxx="${CXX:-g++}"
mkdir -p "$out/obj"
target="$("$cxx" -dumpmachine)"
read -r -a common <<<"$(node "$root/scripts/gyp.mjs" cflags)"
flags=(-std=c++17 "${common[@]}" -Wextra -Werror -pthread -I"$root/native/include" -I"$root/native" ${WN_EXTRA_CXXFLAGS:-})
jobs=()  # "flags-tag|source" pairs
add() { jobs+=("$1|$2"); }
for f in "$root"/native/core/*.cc "$root"/native/cpu/*.cc "$root"/native/cpu/simd/*.cc "$root"/native/cuda/absent.cc "$root"/native/test/core_test.cc; do
  add generic "$f"
done
defs=(-DWN_ISA=generic)
case "$target" in
  x86_64*)
    defs+=(-DWN_HAVE_X86_VARIANTS=1)
    for isa in avx2 avx512; do
      for f in "$root"/native/cpu/simd/*.cc; do add "$isa" "$f"; done
    done
    ;;
esac
compile() {  # tag|source
  local tag="${1%%|*}" src="${1#*|}"
  local o="$out/obj/$tag-$(basename "${src%.cc}").o"
  local extra=(-DWN_ISA=generic)
  [ "$tag" = generic ] || { read -r -a extra <<<"-DWN_ISA=$tag $(node "$root/scripts/gyp.mjs" isa-flags "$tag")"; }
  "$cxx" "${flags[@]}" "${defs[@]:1}" "${extra[@]}" -c "$src" -o "$o"
}
export -f compile
export cxx out root
# shellcheck disable=SC2016
printf '%s\n' "${jobs[@]}" | FLAGS="${flags[*]}" DEFS="${defs[*]}" xargs -P "$(nproc 2>/dev/null || echo 2)" -I{} \
  bash -c 'flags=($FLAGS); defs=($DEFS); compile "$@"' _ {}
"$cxx" -pthread -o "$out/core_test" "$out"/obj/*.o
echo "$out/core_test"
