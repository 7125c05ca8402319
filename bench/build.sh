#!/bin/sh
# Builds the benchmark workloads for wasm32-wasi (as the corpus is built: -O2, separate link, -g),
# and natively (for LeakSanitizer and Valgrind comparisons) into bench/build/.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$here/build
mkdir -p "$out"
for src in "$here"/workloads/*.c "$here"/workloads/*.cpp; do
  name=$(basename "$src"); name=${name%.*}
  case "$src" in *.cpp) cc="clang++ -fno-exceptions" ;; *) cc=clang ;; esac
  $cc --target=wasm32-wasi -O2 -g -c "$src" -o "$out/$name.o"
  $cc --target=wasm32-wasi -g "$out/$name.o" -o "$out/$name.wasm"
  rm -f "$out/$name.o"
  $cc -O2 -g "$src" -o "$out/$name.native"
  $cc -O2 -g -fsanitize=leak "$src" -o "$out/$name.lsan" 2>/dev/null || echo "note: no native LSan runtime (libclang-rt-14-dev)" >&2
done
