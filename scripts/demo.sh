#!/usr/bin/env bash
# `npm run demo [-- --vscode] [-- --redis URL]`: the main job on a fresh clone. Installs what is
# missing, starts the server (Redis: --redis, CHARTBRIDGE_REDIS_URL, one on 6379, else a private
# one), runs the NautilusTrader example backtest into it, and prints where to look. With --vscode
# it also starts code-server with the extension installed and the example workspace open.
# TLS and ACL users: a rediss://user:password@ URL, and CHARTBRIDGE_REDIS_CA/_CERT/_KEY in the
# environment (the server and the Python SDK read them). The password is never printed.
# Ctrl+C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

vscode=false
serve_args=()
redis_url=${CHARTBRIDGE_REDIS_URL:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --vscode) vscode=true ;;
    --redis) serve_args+=(--redis "$2"); redis_url=$2; shift ;;
    --port) serve_args+=(--port "$2"); shift ;;
    *) echo "usage: npm run demo -- [--vscode] [--redis URL] [--port N]" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
pids=()
cleanup() { for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

bash scripts/setup.sh

step "[1/4] starting the Chartbridge server"
log=$(mktemp)
CHARTBRIDGE_TOKEN="${CHARTBRIDGE_TOKEN:-$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')}"
export CHARTBRIDGE_TOKEN
node dist/server.js serve "${serve_args[@]}" --plugins examples/nautilus-ema-cross/.chartbridge/plugins >"$log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^redis: ' "$log" && break; sleep 0.1; done
grep -q '^redis: ' "$log" || { cat "$log"; echo "the server did not start" >&2; exit 1; }
cat "$log"
page=$(sed -n 's/^Chartbridge server: //p' "$log")
# The server prints the URL redacted; with none given it chose one without a password, so that is the URL.
redis=$(sed -n 's/^redis: //p' "$log")
redis_url=${redis_url:-$redis}

step "[2/4] running the NautilusTrader EMA-cross example backtest into $redis"
CHARTBRIDGE_REDIS_URL="$redis_url" .venv/bin/python examples/nautilus-ema-cross/run.py

if $vscode; then
  step "[3/4] installing code-server once (cached in ~/.cache/chartbridge; the first time takes minutes)"
  cs=$(bash scripts/vscode-server.sh)
  npm run --silent package >/dev/null
  ud=$(mktemp -d) ext=$(mktemp -d)
  mkdir -p "$ud/User"
  printf '{"security.workspace.trust.enabled": false, "workbench.startupEditor": "none", "chat.disableAIFeatures": true, "workbench.secondarySideBar.defaultVisibility": "hidden", "chartbridge.redisUrl": "%s"}\n' "$redis_url" >"$ud/User/settings.json"
  node24="$cs/node24/node_modules/node/bin/node"
  entry="$cs/node_modules/code-server/out/node/entry.js"
  "$node24" "$entry" --user-data-dir "$ud" --extensions-dir "$ext" --install-extension "$ROOT/chartbridge.vsix" >/dev/null
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  "$node24" "$entry" --auth none --bind-addr "127.0.0.1:$port" --disable-telemetry --disable-update-check \
    --user-data-dir "$ud" --extensions-dir "$ext" "$ROOT/examples/nautilus-ema-cross" >/dev/null 2>&1 &
  pids+=($!)
  vscode_url="http://127.0.0.1:$port/?folder=$ROOT/examples/nautilus-ema-cross"
else
  step "[3/4] (add --vscode to also start VS Code in the browser with the extension)"
fi

step "[4/4] where to look"
echo "  the chart in a browser:    $page"
if $vscode; then
  echo "  VS Code with Chartbridge:  $vscode_url"
  echo "                             open ema_cross.py and click \"Show chart\" above a decorated function"
else
  echo "  in your VS Code:           npm run package, then Extensions: Install from VSIX... chartbridge.vsix,"
  echo "                             set chartbridge.redisUrl to $redis, open examples/nautilus-ema-cross/ema_cross.py"
fi
echo "  run the backtest again:    CHARTBRIDGE_REDIS_URL=$redis .venv/bin/python examples/nautilus-ema-cross/run.py"
if $vscode; then echo "Ctrl+C stops the server and code-server."; else echo "Ctrl+C stops the server."; fi
wait "${pids[0]}"
