//! Points per second delivered to Redis from `#[chart]` calls in a tight loop on 1, 4 and 8
//! threads (each thread a backtest: it sets the clock, so it may wait for the writer and nothing
//! is dropped), against raw redis-rs pipelined XADDs of the very entries the run wrote, on as many
//! connections, in the same run (this machine is noisy). `cargo bench --bench throughput`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chartbridge::chart;

/// Calls per configuration, shared among its threads.
const CALLS: u64 = 2_000_000;
const T0: i64 = 1_700_000_000_000_000_000;
/// Entries per raw pipeline round trip, as the publisher sends.
const RAW_PIPELINE: usize = 512;
/// Rounds per configuration, each ours then raw; the medians are reported.
const ROUNDS: usize = 5;

macro_rules! sites {
    ($($name:ident),*) => {
        $(
            #[chart]
            fn $name(x: f64) -> f64 {
                x
            }
        )*
        const SITES: [fn(f64) -> f64; 8] = [$($name),*];
        const SITE_NAMES: [&str; 8] = [$(stringify!($name)),*];
    };
}

sites!(t0, t1, t2, t3, t4, t5, t6, t7);

type Entry = (String, Vec<(String, Vec<u8>)>);

/// Points/s of `threads` threads each calling its own site `CALLS / threads` times, until Redis
/// has every point; and the entries written, per series.
fn charted(redis: &support::RedisServer, threads: usize, round: usize) -> (f64, Vec<Vec<Entry>>) {
    let run_id = format!("tp{threads}-{round}");
    let run = chartbridge::start(redis.config("Throughput", &run_id)).expect("a run");
    let per_thread = CALLS / threads as u64;
    let started = Instant::now();
    std::thread::scope(|scope| {
        for site in SITES.iter().take(threads) {
            scope.spawn(move || {
                for i in 0..per_thread {
                    chartbridge::set_clock(T0 + i as i64);
                    site(i as f64);
                }
                chartbridge::clear_clock();
            });
        }
    });
    assert!(run.flush(Duration::from_secs(300)), "Redis took every point");
    let elapsed = started.elapsed().as_secs_f64();
    let stats = run.stats();
    let total = per_thread * threads as u64;
    assert_eq!((stats.written, stats.dropped, stats.refused), (total, 0, 0), "every point delivered, none dropped");
    drop(run);
    let entries = SITE_NAMES.iter().take(threads).map(|name| redis.stream(&format!("cbtest:{{{run_id}}}:s:{name}"))).collect();
    (total as f64 / elapsed, entries)
}

/// Points/s of the same entries written again with raw pipelined XADDs, one connection per series.
fn raw(redis: &support::RedisServer, entries: &[Vec<Entry>]) -> f64 {
    let points: u64 = entries.iter().flatten().map(|(_, fields)| support::i64s(&fields[3].1).len() as u64).sum();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for (n, series) in entries.iter().enumerate() {
            let mut con = redis.connect();
            scope.spawn(move || {
                for chunk in series.chunks(RAW_PIPELINE) {
                    let mut pipe = redis::pipe();
                    for (_, fields) in chunk {
                        let cmd = pipe.cmd("XADD").arg(format!("raw:{n}")).arg("*");
                        for (k, v) in fields {
                            cmd.arg(k).arg(v.as_slice());
                        }
                    }
                    pipe.query::<()>(&mut con).expect("raw XADD");
                }
            });
        }
    });
    points as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let redis = support::RedisServer::start();
    let mut figures = Vec::new();
    println!("points/s delivered from a tight #[chart] loop ({CALLS} calls), against raw redis-rs XADD of the same entries");
    let median = |mut xs: Vec<f64>| {
        xs.sort_by(f64::total_cmp);
        xs[xs.len() / 2]
    };
    for threads in [1, 4, 8] {
        let (mut ours, mut baseline, mut n_entries) = (Vec::new(), Vec::new(), 0);
        for round in 0..ROUNDS {
            let (points_per_s, entries) = charted(&redis, threads, round);
            ours.push(points_per_s);
            baseline.push(raw(&redis, &entries));
            n_entries = entries.iter().map(Vec::len).sum();
            redis.raw(&mut redis::cmd("FLUSHALL"));
        }
        let (ours, baseline) = (median(ours), median(baseline));
        println!(
            "{threads} thread(s): {:>12.0} points/s, 0 dropped ({n_entries} entries); raw XADD {:>12.0} points/s; ratio {:.2} (medians of {ROUNDS})",
            ours,
            baseline,
            ours / baseline
        );
        figures.push(format!(
            "{{\"name\":\"rust_tight_loop_points_per_s_{threads}t\",\"value\":{ours:.0},\"unit\":\"points/s\",\"target\":\">= 1000000\",\"baseline\":{baseline:.0},\"baselineLabel\":\"raw redis-rs pipelined XADD of the same entries\",\"better\":\"higher\"}}"
        ));
    }
    println!("{{\"figures\":[{}]}}", figures.join(","));
}
