#!/usr/bin/env bash
# Installs the built tree into a temporary prefix, then configures, builds and runs
# examples/find_package against it (find_package(sluice) + sluice::sluice), as an app outside this
# repository would. Environment: SLUICE_BUILD_DIR, SLUICE_SOURCE_DIR, SLUICE_CXX_COMPILER,
# SLUICE_GENERATOR, SLUICE_BUILD_TYPE, SLUICE_SANITIZE (the sanitizers the libraries were built with).
set -euo pipefail

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$SLUICE_BUILD_DIR" --prefix "$tmp/prefix" >"$tmp/install.log" ||
  { cat "$tmp/install.log"; exit 1; }

args=(-G "$SLUICE_GENERATOR" -DCMAKE_CXX_COMPILER="$SLUICE_CXX_COMPILER" -DCMAKE_BUILD_TYPE="$SLUICE_BUILD_TYPE"
      -DCMAKE_PREFIX_PATH="$tmp/prefix")
if command -v ccache >/dev/null; then
  # Paths below $tmp are hashed relative to it, so every run shares the cache.
  export CCACHE_BASEDIR="$tmp" CCACHE_NOHASHDIR=true
  args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
if [[ -n "${SLUICE_SANITIZE:-}" ]]; then
  args+=(-DCMAKE_CXX_FLAGS="-fsanitize=$SLUICE_SANITIZE" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$SLUICE_SANITIZE")
fi
cmake -S "$SLUICE_SOURCE_DIR/examples/find_package" -B "$tmp/build" "${args[@]}" >"$tmp/configure.log" ||
  { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/build" -j1
"$tmp/build/find_package_example"
