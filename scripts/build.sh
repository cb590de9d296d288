#!/usr/bin/env bash
# Configures and builds berth into ./build (the build contract of the README).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja >/dev/null
cmake --build build
