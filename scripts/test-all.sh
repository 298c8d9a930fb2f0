#!/usr/bin/env bash
# `npm test`: every test of every language, after setup. Runs them all and fails if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

failed=()
# Each suite's output is also kept in test-results/logs, so that a failure's own report can be printed
# again at the very end, where a CI log cut to its last lines still shows it.
logs=test-results/logs
rm -rf "$logs" && mkdir -p "$logs"
log_of() { printf '%s/%s.log' "$logs" "$(tr -c 'A-Za-z0-9' _ <<<"$1")"; }
run() {
  local name=$1; shift
  printf '\033[1m==> %s\033[0m\n' "$name"
  # tee in a process substitution: a process a suite leaves behind cannot hold the run open.
  "$@" > >(tee "$(log_of "$name")") 2>&1 || failed+=("$name")
}

run "typecheck (tsc --noEmit, strict)" npx tsc --noEmit -p . 
run "typecheck webview" npx tsc --noEmit -p src/webview
run "TypeScript tests (mocha)" npx mocha
run "Python tests (pytest)" .venv/bin/python -m pytest -q python/tests
# The Python tests again on NautilusTrader 2 (test_nautilus2.py there, test_nautilus.py here), in its
# venv: built once per machine outside the checkout, without chartbridge (the checkout's, by PYTHONPATH).
nt2_python=$(bash scripts/venv-nt2.sh) && run "Python tests on NautilusTrader 2 (pytest)" \
  env PYTHONPATH=python/src "$nt2_python" -m pytest -q -p no:cacheprovider python/tests \
  || failed+=("NautilusTrader 2 venv (scripts/venv-nt2.sh)")
# The overhead matrix runs on both lines, small (2,000 bars a shape, one round): every shape's backtest
# charted and delivered in full; its figures are printed, the targets are `npm run bench`'s.
run "Overhead matrix on NautilusTrader 1 (small run)" .venv/bin/python python/bench/nautilus_overhead.py --bars 2000 --rounds 1
[ -n "${nt2_python:-}" ] && run "Overhead matrix on NautilusTrader 2 (small run)" \
  env PYTHONPATH=python/src "$nt2_python" python/bench/nautilus_overhead.py --bars 2000 --rounds 1
run "Python types (mypy --strict)" .venv/bin/python -m mypy --strict python/src
run "VS Code extension end to end (code-server + Chromium, from the .vsix)" bash scripts/test-e2e.sh
if [ -f rust/Cargo.toml ]; then
  run "Rust tests (cargo test)" cargo test --manifest-path rust/Cargo.toml --workspace
  # The Rust example on NautilusTrader's Rust engine (crates 0.66 = nautilus_trader 2.0.0rc7): its
  # own workspace and toolchain, built once per machine outside the checkout (~6 min cold on 2 cores).
  run "Rust example on NautilusTrader 2's Rust engine (cargo test)" bash scripts/nautilus-rust.sh test
fi

if [ ${#failed[@]} -gt 0 ]; then
  for name in "${failed[@]}"; do
    log=$(log_of "$name")
    [ -f "$log" ] && printf '\033[31m==> the end of "%s"\033[0m\n' "$name" && tail -n 120 "$log"
  done
  printf '\033[31mFAILED: %s\033[0m\n' "${failed[*]}"
  exit 1
fi
printf '\033[32mall test suites passed\033[0m\n'
