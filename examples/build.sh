#!/bin/sh
# Rebuilds the examples' committed .wasm files. Needs the Debian wasm toolchain
# (clang lld wasi-libc libclang-rt-14-dev-wasm32). Compile and link are separate, and the link
# is not optimised, so the name section stays (reports show function names).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
for src in *.c; do
  name=${src%.c}
  clang --target=wasm32-wasi -O1 -g -fdebug-prefix-map="$here"=. -I../include -c "$src" -o "$name.o"
  clang --target=wasm32-wasi -g "$name.o" -o "$name.wasm"
  rm -f "$name.o"
done
