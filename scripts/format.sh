#!/usr/bin/env bash
# Formats the code, or with --check lists what is not formatted and fails:
#   TypeScript/JavaScript  biome (biome.jsonc)
#   C++/CUDA in native/    clang-format (.clang-format; version 14 is what Debian bookworm ships)
# `npm run format` writes; `npm run lint` runs the check. Without clang-format the native part is skipped
# with a message (CI installs it and fails if it is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
[ "${1:-}" = --check ] && check=1
if [ "$check" = 1 ]; then npx biome format; else npx biome format --write; fi
cf=""
for c in clang-format-14 clang-format; do command -v "$c" >/dev/null 2>&1 && { cf="$c"; break; }; done
if [ -z "$cf" ]; then
  if [ "${CI:-}" = true ]; then echo "format: clang-format is not installed" >&2; exit 1; fi
  echo "format: clang-format not installed; native/ not checked (apt install clang-format-14)" >&2
  exit 0
fi
mapfile -t files < <(git ls-files 'native/*.cc' 'native/*.h' 'native/*.cu' 'native/*.cuh')
if [ "$check" = 1 ]; then
  "$cf" --dry-run --Werror "${files[@]}"
  echo "format: ${#files[@]} native files formatted"
else
  "$cf" -i "${files[@]}"
fi
