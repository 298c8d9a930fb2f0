#!/usr/bin/env bash
# The second Python venv: NautilusTrader 2 (the Rust engine with PyO3 bindings; its release
# candidates, which the nautilus2 extra names), built once per machine outside the checkout like
# code-server, so every clone reuses it. It holds nautilus_trader 2 and chartbridge's dependencies, not
# chartbridge itself: the tests run the checkout's python/src (PYTHONPATH), so no clone points
# the shared venv at its own files. Prints the venv's python.
# Usage: scripts/venv-nt2.sh          build if missing or its requirements changed
#        scripts/venv-nt2.sh --path   print the python only (exit 1 if not built)
set -euo pipefail
cd "$(dirname "$0")/.."

# nautilus_trader 2 needs CPython >= 3.12: the newest pyenv CPython there is (as setup.sh).
py=""
if root=$(pyenv root 2>/dev/null); then
  for v in 3.13 3.12; do
    py=$(ls -d "$root"/versions/$v.*/bin/python 2>/dev/null | sort -V | tail -1)
    [ -n "$py" ] && break
  done
fi
[ -n "$py" ] || { echo "no CPython 3.12 or 3.13 under pyenv: nautilus_trader 2 needs one" >&2; exit 1; }
ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/chartbridge/venv-nt2-$ver"

if [ "${1:-}" = --path ]; then
  [ -f "$VENV/.installed" ] || exit 1
  echo "$VENV/bin/python"; exit 0
fi

# chartbridge's own requirements (dependencies; dev, notebook and nautilus2 extras), read from
# pyproject.toml: the venv is built again only when they change (a fresh clone's file times do not count).
reqs=$("$py" -c 'import tomllib
p = tomllib.load(open("python/pyproject.toml", "rb"))["project"]
extras = p["optional-dependencies"]
print("\n".join(p["dependencies"] + extras["dev"] + extras["notebook"] + extras["nautilus2"]))')
if [ ! -f "$VENV/.installed" ] || [ "$(cat "$VENV/.installed")" != "$reqs" ]; then
  printf '\033[1m==> %s\033[0m\n' "building the NautilusTrader 2 venv in $VENV (once per machine)" >&2
  [ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  mapfile -t list <<< "$reqs"
  "$VENV/bin/python" -m pip install --quiet "${list[@]}" >&2
  printf '%s' "$reqs" > "$VENV/.installed"
fi
echo "$VENV/bin/python"
