#!/bin/sh
# Rebuilds bench/threads/alloc4.{js,wasm,worker.js} (committed: the bench needs no compiler) with
# Debian's emcc 3.1.6, as test/fixtures/emscripten-pthread/build.sh does (NODE_PATH finds acorn).
set -eu
cd "$(dirname "$0")"
NODE_PATH=${NODE_PATH:-/usr/share/nodejs} emcc -O1 -pthread -sPTHREAD_POOL_SIZE=4 -sEXIT_RUNTIME=1 \
  -sINITIAL_MEMORY=256MB --profiling-funcs -sMODULARIZE -sEXPORT_NAME=createAlloc4 \
  -sEXPORTED_RUNTIME_METHODS=callMain -sENVIRONMENT=node,worker alloc4.c -o alloc4.js
