#!/usr/bin/env bash
# `npm run demo`: the main job on a fresh clone. Installs what is missing, then runs the server
# against a private Redis (or CHARTBRIDGE_REDIS_URL) and prints its URL and token.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
printf '\033[1m==> starting the Chartbridge server (Ctrl+C stops it)\033[0m\n'
exec node dist/server.js serve "$@"
