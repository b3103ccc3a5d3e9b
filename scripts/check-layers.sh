#!/usr/bin/env bash
# Fails when an import between the crate's top-level modules points up a layer or forms a cycle, or when
# a module below the front-ends reads the process environment (see scripts/check_layers.py).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 scripts/check_layers.py src
