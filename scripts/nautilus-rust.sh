#!/usr/bin/env bash
# The Rust example on NautilusTrader's Rust engine, examples/rust-strategy (crates 0.66.0, the
# engine of nautilus_trader 2.0.0rc7): `test` (the default) runs its cargo test, `run` its backtest
# against CHARTBRIDGE_REDIS_URL (`run --bin bus_backtest -- ARGS` the one that also writes
# Nautilus's message bus to Redis), `build` only builds. Extra arguments go to cargo.
#
# Those crates declare Rust 1.99. This script uses the default toolchain once it is 1.99 or newer;
# until then the nightly of the machine image (1.97.0-nightly, 2026-05-19) with
# --ignore-rust-version and the one library feature 0.66 uses that 1.99 stabilised
# (`int_format_into`, core::fmt::NumBuffer). With neither it fails, saying so: never a skip.
#
# The build goes to ~/.cache/chartbridge/cargo-nautilus, outside the checkout, so every clone on
# the machine reuses it: about 6 minutes on 2 cores the first time, seconds after.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-test}
case $mode in
  test | run | build) shift $(($# > 0 ? 1 : 0)) ;;
  *) echo "usage: $0 [test|run|build] [cargo arguments]" >&2; exit 2 ;;
esac

required=1.99
# "1.97.0" from "rustc 1.97.0-nightly (e50aa6fba 2026-05-19)"; empty if the toolchain is absent.
version_of() { { rustc "+$1" --version 2>/dev/null || true; } | sed -E 's/^rustc ([0-9]+\.[0-9]+\.[0-9]+).*/\1/'; }
at_least() { [ "$(printf '%s\n%s\n' "$required" "$1" | sort -V | head -n1)" = "$required" ]; }

flags=(--locked)
stable=$(version_of stable)
nightly=$(version_of nightly)
if [ -n "$stable" ] && at_least "$stable"; then
  toolchain=stable
elif [ -n "$nightly" ]; then
  toolchain=nightly
  if ! at_least "$nightly"; then
    flags+=(--ignore-rust-version)
    export RUSTFLAGS="${RUSTFLAGS:-} -Zcrate-attr=feature(int_format_into) -Aunused_features"
  fi
else
  echo "nautilus-rust: FAILED: the NautilusTrader 0.66 crates need Rust $required; the stable toolchain here is ${stable:-absent} and there is no nightly." >&2
  echo "  Install one (rustup toolchain install stable, once 1.99 is out, or nightly) and run again." >&2
  exit 1
fi

export CARGO_TARGET_DIR=${CHARTBRIDGE_NAUTILUS_TARGET:-$HOME/.cache/chartbridge/cargo-nautilus}
# On stderr: stdout is the program's (bus_backtest prints JSON lines there).
echo "nautilus-rust: $mode with $(rustc "+$toolchain" --version), target $CARGO_TARGET_DIR" >&2
manifest=examples/rust-strategy/Cargo.toml
exec cargo "+$toolchain" "$mode" --manifest-path "$manifest" "${flags[@]}" "$@"
