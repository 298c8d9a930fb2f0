#!/usr/bin/env bash
# `npm run test:e2e`: the extension's end-to-end tests in a real VS Code (code-server) in Chromium,
# from the packaged .vsix. Installs code-server once per machine (cached outside the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "chromium not found: install it with 'sudo apt-get install -y chromium'" >&2; exit 1; }
bash scripts/vscode-server.sh >/dev/null
npm run --silent package >/dev/null
npx mocha --no-config --node-option import=tsx --timeout 180000 --exit 'test/e2e/**/*.e2e.ts'
