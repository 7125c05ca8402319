#!/bin/sh
# Rebuilds the demo's leaky.wasm (Debian's clang for wasm32-wasi). Compile and link are separate
# steps so that the link keeps the name section: the report then names the functions.
set -eu
cd "$(dirname "$0")"
clang --target=wasm32-wasi -O1 -g -fdebug-prefix-map="$(pwd)"=. -c leaky.c -o leaky.o
clang --target=wasm32-wasi -g leaky.o -o leaky.wasm
rm -f leaky.o
