#!/usr/bin/env bash
# Installs what a fresh clone needs, and nothing twice: node modules (from the lockfile), the
# bundles, and the Python venv (.venv) with the chartbridge package. Debian packages are
# .ci/run's job (it runs as root); here a missing one is reported with the line that installs it.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

command -v redis-server >/dev/null || { echo "redis-server not found: install it with 'sudo apt-get install -y redis-server'" >&2; exit 1; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "installing node modules (npm ci)"
  # package.json's overrides hold @whatwg-node/promise-helpers at 1.3.2 and disposablestack at
  # 0.0.6: their next lines declare Node >= 22.15 (EBADENGINE here) and differ only by dropping
  # mapMaybePromise, which nothing here calls. Pinning @graphql-tools/executor 2.0.1 instead was
  # tried and broke field order in answers (GraphQL spec 7.2.2).
  npm ci --no-audit --no-fund
fi

step "building the extension, server and webview bundles"
node scripts/build.mjs

# nautilus_trader's newest wheels need CPython >= 3.12: prefer the newest pyenv CPython there is.
pick_python() {
  local root
  if root=$(pyenv root 2>/dev/null); then
    for v in 3.13 3.12; do
      local p
      p=$(ls -d "$root"/versions/$v.*/bin/python 2>/dev/null | sort -V | tail -1)
      if [ -n "$p" ]; then echo "$p"; return; fi
    done
  fi
  command -v python3
}

if [ ! -x .venv/bin/python ] || [ python/pyproject.toml -nt .venv/.installed ]; then
  py=$(pick_python)
  step "creating the Python venv with $($py -V) and installing python/[dev,nautilus,notebook]"
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  # .venv is the 1.x line (its compiled recorder needs 1.x's .pxd files); the 2.x line has its own
  # venv (scripts/venv-nt2.sh). The extra allows both, so the day 2.0 is final this keeps .venv on 1.x.
  .venv/bin/python -m pip install --quiet -e 'python[dev,nautilus,notebook]' 'nautilus_trader<2'
  touch .venv/.installed
fi

# The compiled parts (python/setup.py): the decorator's fast path, and the bar recorder built
# against the installed nautilus_trader, so without build isolation. Again whenever a source or
# the venv is newer than its module.
stale=0
suffix=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
for src in python/src/chartbridge/arrays.py python/src/chartbridge/charted_attribute.py python/src/chartbridge/fastline.py \
           python/src/chartbridge/indicators.py python/src/chartbridge/nautilus/v2_recorder.py \
           python/src/chartbridge/nautilus/merge.py python/src/chartbridge/nautilus/_recorder.pyx; do
  built="${src%.*}$suffix"
  # the C headers beside them too (fastline's charted_function.h)
  if [ ! -f "$built" ] || [ "$src" -nt "$built" ] || [ "${src%.*}.pxd" -nt "$built" ] || [ python/setup.py -nt "$built" ] || [ .venv/.installed -nt "$built" ] \
     || [ -n "$(find python/src/chartbridge -name '*.h' -newer "$built")" ]; then
    stale=1
  fi
done
if [ "$stale" = 1 ]; then
  step "compiling the decorator's fast path and the Nautilus bar recorder (Cython)"
  .venv/bin/python -m pip install --quiet 'Cython>=3.1' 'setuptools>=77'
  CHARTBRIDGE_REQUIRE_COMPILED=1 .venv/bin/python -m pip install --quiet --no-build-isolation --no-deps -e python
  .venv/bin/python -c 'from chartbridge import arrays, charted_attribute, fastline, indicators; from chartbridge.nautilus import merge, recorder, v2_recorder
assert arrays.COMPILED and charted_attribute.COMPILED, "chartbridge.arrays/charted_attribute did not build"
assert fastline.COMPILED and not indicators.__file__.endswith(".py"), "chartbridge.fastline/indicators did not build"
assert v2_recorder.COMPILED, "chartbridge.nautilus.v2_recorder did not build"
assert merge.COMPILED, "chartbridge.nautilus.merge did not build"
assert recorder.COMPILED, recorder.WHY_PURE'
fi
