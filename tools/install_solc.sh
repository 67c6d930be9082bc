#!/usr/bin/env bash
# Set-up step 3 (tools/setup.sh): solc for py-solc-x / Brownie, without downloads. Idempotent.
#
# Installs ${SOLCX_BINARY_PATH:-~/.solcx}/solc-v<version of node_modules/solc>: tools/solc-shim.js
# behind a two-line sh header that runs node on the file itself. That file is HOME-global, shared by
# every checkout on the machine, so it names no checkout: the shim loads solc-js from node_modules/solc
# under the directory it is run in (Brownie runs it from the project root). Every checkout installs
# the same bytes, and deleting one checkout breaks no other.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SOLC_VERSION=$(node -p "require('./node_modules/solc/package.json').version")
SOLCX_DIR=${SOLCX_BINARY_PATH:-$HOME/.solcx}
LAUNCHER="$SOLCX_DIR/solc-v$SOLC_VERSION"

NODE=$(command -v node)
case "$(readlink -f "$NODE")/" in
  "$ROOT"/*) echo "setup: node ($NODE) is inside this checkout; the shared solc launcher needs one outside it" >&2
             exit 1 ;;
esac

mkdir -p "$SOLCX_DIR"
TMP=$(mktemp "$SOLCX_DIR/.solc-v$SOLC_VERSION.XXXXXX")
trap 'rm -f "$TMP"' EXIT
{
  # sh runs line 2 (':' is a no-op, then exec); node skips line 1 and reads line 2 as a string statement.
  printf '#!/bin/sh\n'
  printf "':' //; exec \"%s\" \"\$0\" \"\$@\"\n" "$NODE"
  tail -n +2 tools/solc-shim.js
} > "$TMP"
chmod 755 "$TMP"
if [ -x "$LAUNCHER" ] && cmp -s "$TMP" "$LAUNCHER"; then
  exit 0
fi
echo "setup: installing the solc $SOLC_VERSION launcher at $LAUNCHER"
mv -f "$TMP" "$LAUNCHER" # atomic: a build running in another checkout never sees half a file
