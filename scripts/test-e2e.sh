#!/usr/bin/env bash
# `npm run test:e2e`: the extension's end-to-end tests in a real VS Code (code-server) in Chromium,
# from the packaged .vsix. Installs code-server once per machine (cached outside the checkout).
# --update-docs: after a passing run, copy its screenshots to the walkthrough and README images, so
# the pictures users see are the ones the tests took.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "chromium not found: install it with 'sudo apt-get install -y chromium'" >&2; exit 1; }
bash scripts/vscode-server.sh >/dev/null
npm run --silent package >/dev/null
# Screenshots of this run only (--update-docs copies from here).
rm -rf test-results/e2e
# --retries 1 (E2E_RETRIES=0: none): a real VS Code in Chromium on a loaded 2-core machine. The
# reporter prints why a retried test failed its first try, which also leaves a screenshot.
npx mocha --no-config --node-option import=tsx --timeout 180000 --retries "${E2E_RETRIES:-1}" \
  --reporter ./test/harness/retry-reporter.cjs --exit 'test/e2e/**/*.e2e.ts'
if [ "${1:-}" = "--update-docs" ]; then
  shots=test-results/e2e
  cp "$shots/1-show-chart.png" media/walkthrough/show-chart.png
  cp "$shots/1-show-chart.png" docs/chart-beside-strategy.png
  cp "$shots/3-plugin.png" media/walkthrough/plugins.png
  cp "$shots/debug-time-cursor.png" media/walkthrough/debug-time-cursor.png
  cp "$shots/6-open-in-browser.png" media/walkthrough/open-in-browser.png
  echo "copied the e2e screenshots to media/walkthrough and docs"
fi
