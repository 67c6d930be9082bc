#!/usr/bin/env bash
# Set-up step 3 (tools/setup.sh): solc for py-solc-x / Brownie, without downloads: a launcher for
# tools/solc-shim.js at ${SOLCX_BINARY_PATH:-~/.solcx}/solc-v<version of node_modules/solc>. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SOLC_VERSION=$(node -p "require('./node_modules/solc/package.json').version")
SOLCX_DIR=${SOLCX_BINARY_PATH:-$HOME/.solcx}
LAUNCHER="$SOLCX_DIR/solc-v$SOLC_VERSION"
WANT=$(printf '#!/bin/sh\n# installed by %s/tools/setup.sh\nexec "%s" "%s/tools/solc-shim.js" "$@"\n' \
  "$ROOT" "$(command -v node)" "$ROOT")
if [ ! -x "$LAUNCHER" ] || [ "$(cat "$LAUNCHER")" != "$WANT" ]; then
  echo "setup: installing solc $SOLC_VERSION shim at $LAUNCHER"
  mkdir -p "$SOLCX_DIR"
  printf '%s\n' "$WANT" > "$LAUNCHER"
  chmod 755 "$LAUNCHER"
fi
