#!/usr/bin/env bash
# Idempotent, offline-safe set-up: node toolchain, Python virtualenv, the solc shim, Brownie networks.
# Every step is skipped when its inputs have not changed since the last successful run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STAMPS=.setup
mkdir -p "$STAMPS"

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' not found; install $2" >&2; exit 1; }; }
need node "Node.js 20"
need npm "npm (comes with Node.js)"
PY=${PYTHON:-python3}
need "$PY" "Python 3.11"

fresh() { # fresh NAME FILE... : true when the files' hash matches the stamp NAME
  local sum; sum=$(cat "${@:2}" | sha256sum | cut -d' ' -f1)
  [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$sum" ]
}
stamp() { cat "${@:2}" | sha256sum | cut -d' ' -f1 > "$STAMPS/$1"; }

# 1. Node packages: ganache, solc-js, OpenZeppelin, anvil (package-lock.json pins them).
if ! fresh npm package-lock.json || [ ! -d node_modules ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --no-update-notifier --loglevel=error
  stamp npm package-lock.json
fi

# 2. Python virtualenv with the project (editable) and its dev tools.
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
if ! fresh pip pyproject.toml tools/setup.sh || ! (cd / && "$ROOT/.venv/bin/python" -c "import cl_client, brownie; assert cl_client.__file__") 2>/dev/null; then
  echo "setup: pip install -e .[dev] (first time takes a few minutes)"
  # pip's (and setuptools') chatter goes to a log that is shown only if the install fails
  LOG="$STAMPS/pip.log"
  {
    .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip &&
    # compat mode: a plain path entry, so cl_client imports as a regular package from any directory
    .venv/bin/python -m pip install --disable-pip-version-check -e ".[dev]" --config-settings editable_mode=compat
  } >"$LOG" 2>&1 || { cat "$LOG" >&2; echo "setup: pip install failed (log above, also in $LOG)" >&2; exit 1; }
  stamp pip pyproject.toml tools/setup.sh
fi

# 3. solc for py-solc-x / Brownie, without downloads (tools/install_solc.sh says how).
tools/install_solc.sh

# 4. Brownie's ganache-cli network on the hardfork the contracts are compiled for.
PATH="$ROOT/.venv/bin:$ROOT/node_modules/.bin:$PATH" .venv/bin/python tools/brownie_net.py configure

# 5. Foundry's forge for the invariant suite (make fuzz): a native binary shipped inside the npm package
#    @foundry-rs/forge-linux-amd64 (pinned in package.json, like anvil), nothing downloaded at run time.
node_modules/.bin/forge --version >/dev/null 2>&1 ||
  { echo "setup: node_modules/.bin/forge does not run (the pinned @foundry-rs/forge-linux-amd64 is for Linux x64)" >&2; exit 1; }
