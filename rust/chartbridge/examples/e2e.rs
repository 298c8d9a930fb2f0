//! The Rust side of the end-to-end tests through the real server (test/rust-e2e.test.ts). Call
//! `i` of thread `k` charts `(i % 1000) * 0.25 + k` at `T0 + i` ms, as `lane<k>` and
//! `lane<k>.ema3` (a `#[chart(ema = 3, raw = true)]` site per thread). Prints the run's stats as
//! JSON at the end.
//!
//! `cargo run --example e2e -- <redis url> <prefix> <run> tight <threads 1-8> <calls per thread>`:
//! a tight loop on several threads.
//! `cargo run --example e2e -- <redis url> <prefix> <run> restart <calls> <max backlog>`: `calls`
//! calls, a line on stdout, a wait for a line on stdin (the test kills Redis), `calls` more,
//! another line out and in (the test restarts Redis empty), then a flush.
//! `cargo run --example e2e -- <redis url> <prefix> <run> paced <calls> <batch>`: one thread,
//! a 5 ms pause after every `batch` calls, so the run lasts long enough for a test to fail a
//! cluster master over meanwhile.

use std::io::Write;
use std::time::Duration;

use chartbridge::{Config, chart};

const T0: i64 = 1_700_000_000_000_000_000;

macro_rules! lanes {
    ($($name:ident),*) => {
        $(
            #[chart(ema = 3, raw = true)]
            fn $name(price: f64) -> f64 {
                price
            }
        )*
        const LANES: [fn(f64) -> f64; 8] = [$($name),*];
    };
}

lanes!(lane0, lane1, lane2, lane3, lane4, lane5, lane6, lane7);

/// Call `i` of a thread: at simulated time, as a backtest charts (the thread may then wait for
/// the writer rather than drop).
fn call(lane: usize, i: u64) {
    chartbridge::set_clock(T0 + i as i64 * 1_000_000);
    LANES[lane]((i % 1000) as f64 * 0.25 + lane as f64);
}

/// Says `what` on stdout and waits for the test's go-ahead on stdin.
fn handshake(what: &str) {
    println!("{what}");
    std::io::stdout().flush().expect("stdout");
    std::io::stdin().lines().next().expect("a line from the test").expect("stdin");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, prefix, run_id, mode, a, b] = args.as_slice() else {
        eprintln!("usage: e2e <redis url> <prefix> <run> tight <threads> <calls per thread> | restart <calls> <max backlog> | paced <calls> <batch>");
        std::process::exit(2);
    };
    let (a, b): (u64, u64) = (a.parse().expect("a number"), b.parse().expect("a number"));
    let mut config = Config { url: url.clone(), prefix: prefix.clone(), run: run_id.clone(), ..Config::new("E2e") };
    if mode == "restart" {
        config.max_backlog = b as usize;
    }
    let run = chartbridge::start(config).expect("a run");
    match mode.as_str() {
        "tight" => std::thread::scope(|scope| {
            for lane in 0..a as usize {
                scope.spawn(move || (0..b).for_each(|i| call(lane, i)));
            }
        }),
        "paced" => {
            for i in 0..a {
                call(0, i);
                if (i + 1) % b == 0 {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        "restart" => {
            (0..a).for_each(|i| call(0, i));
            assert!(run.flush(Duration::from_secs(60)), "Redis took the first calls");
            handshake("written");
            for i in a..2 * a {
                call(0, i);
                if i % 1_000 == 0 {
                    std::thread::sleep(Duration::from_millis(3)); // entries of about 1,000 points
                }
            }
            run.flush(Duration::from_millis(100)); // Redis is away: this only lets the writer trim
            handshake("queued");
        }
        other => panic!("unknown mode {other}"),
    }
    assert!(run.flush(Duration::from_secs(300)), "Redis took every point");
    let stats = run.stats();
    let series: serde_json::Map<String, serde_json::Value> =
        stats.series.iter().map(|(id, s)| (id.clone(), serde_json::json!({"written": s.written, "dropped": s.dropped, "refused": s.refused}))).collect();
    println!("{}", serde_json::json!({"written": stats.written, "dropped": stats.dropped, "refused": stats.refused, "series": series}));
}
