#!/usr/bin/env bash
# `npm run test:reliability`: the reliability suite (test/reliability/*.rel.ts): load, faults, bad
# input, security. Minutes long, loopback only; the server runs from dist/, so it is built first.
# --no-config: .mocharc.json's spec (the fast suite) would otherwise be run as well.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/build.mjs
exec npx mocha --no-config --node-option import=tsx --require test/harness/rootHooks.ts --timeout 180000 --exit 'test/reliability/**/*.rel.ts' "$@"
