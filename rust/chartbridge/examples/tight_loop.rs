//! A tight loop of `#[chart(ema = 3, raw = true)]` calls on several threads, for the end-to-end
//! test through the real server (test/rust-e2e.test.ts): call `i` of thread `k` charts
//! `(i % 1000) * 0.25 + k` at `T0 + i` ms, as `lane<k>` and `lane<k>.ema3`.
//!
//! `cargo run --example tight_loop -- <redis url> <prefix> <run> <threads> <calls per thread>`;
//! prints the run's stats as JSON.

use std::time::Duration;

use chartbridge::{Config, TsEvent, chart};

const T0: u64 = 1_700_000_000_000_000_000;

struct Tick {
    price: f64,
    ts_event: u64,
}

impl TsEvent for Tick {
    fn ts_event(&self) -> u64 {
        self.ts_event
    }
}

macro_rules! lanes {
    ($($name:ident),*) => {
        $(
            #[chart(ema = 3, raw = true)]
            fn $name(tick: &Tick) -> f64 {
                tick.price
            }
        )*
        const LANES: [fn(&Tick) -> f64; 8] = [$($name),*];
    };
}

lanes!(lane0, lane1, lane2, lane3, lane4, lane5, lane6, lane7);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, prefix, run_id, threads, calls] = args.as_slice() else {
        eprintln!("usage: tight_loop <redis url> <prefix> <run> <threads 1-8> <calls per thread>");
        std::process::exit(2);
    };
    let (threads, calls): (usize, u64) = (threads.parse().expect("threads"), calls.parse().expect("calls"));
    let config = Config { url: url.clone(), prefix: prefix.clone(), run: run_id.clone(), ..Config::new("TightLoop") };
    let run = chartbridge::start(config).expect("a run");
    std::thread::scope(|scope| {
        for (k, lane) in LANES.iter().take(threads).enumerate() {
            scope.spawn(move || {
                for i in 0..calls {
                    lane(&Tick { price: (i % 1000) as f64 * 0.25 + k as f64, ts_event: T0 + i * 1_000_000 });
                }
            });
        }
    });
    assert!(run.flush(Duration::from_secs(300)), "Redis took every point");
    let stats = run.stats();
    let series: serde_json::Map<String, serde_json::Value> =
        stats.series.iter().map(|(id, s)| (id.clone(), serde_json::json!({"written": s.written, "dropped": s.dropped, "refused": s.refused}))).collect();
    println!("{}", serde_json::json!({"written": stats.written, "dropped": stats.dropped, "refused": stats.refused, "series": series}));
}
