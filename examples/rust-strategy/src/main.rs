//! `cargo +nightly run --release --ignore-rust-version` (or `bash scripts/test-nautilus-rust.sh
//! --run`): the EMA-cross backtest of `src/lib.rs` on 5,000 bars, charted to the Redis at
//! `CHARTBRIDGE_REDIS_URL` (default redis://127.0.0.1:6379).

use std::time::Duration;

use chartbridge::Config;

const BARS: u64 = 5_000;

fn main() -> anyhow::Result<()> {
    let config = Config { source: chartbridge::source!(), ..Config::new("EmaCross") };
    let run_id = config.run.clone();
    let run = chartbridge::start(config)?;
    let (result, journal) = rust_strategy::backtest(&run, BARS, "stdout=Info", None)?;
    let flushed = run.flush(Duration::from_secs(10));
    let stats = run.stats();
    println!(
        "run {run_id}: {} bars, {} fills, {} orders backtested in {:.2} s; {} points in Redis{}, {} dropped, {} refused",
        journal.bars.len(),
        journal.fills.len(),
        result.total_orders,
        rust_strategy::run_seconds(&result).unwrap_or(f64::NAN),
        stats.written,
        if flushed { "" } else { " (Redis unreachable: backlog not written)" },
        stats.dropped,
        stats.refused
    );
    Ok(())
}
