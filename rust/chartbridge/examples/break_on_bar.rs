//! The debugger side of "Break Here on Next Run" for Rust (tests/debugger.rs): 50 bars, one a
//! minute from `T0`, through two `#[chart]` functions of the two shapes the extension breaks in:
//! one charting its return value (the body runs in a closure) and one charting an argument
//! (`arg = bar`). Each records a condition. A debugger stops on the chosen bar with the condition
//! the chart writes (`bar.ts_event == <ns>`, src/extension/breakpoints.ts).

use chartbridge::{Candle, Chartable, Point, TsEvent, chart};

const T0: u64 = 1_700_000_000_000_000_000;

pub struct Bar {
    pub index: u64,
    pub close: f64,
    pub ts_event: u64,
}

impl TsEvent for Bar {
    fn ts_event(&self) -> u64 {
        self.ts_event
    }
}

impl Chartable for Bar {
    fn to_point(&self) -> Option<Point> {
        Some(Point::Candle(Candle { open: self.close, high: self.close, low: self.close, close: self.close, volume: None }))
    }
}

#[chart]
fn close(bar: &Bar) -> f64 {
    let up = chartbridge::condition("close up", bar.close > 100.0);
    if up { bar.close } else { -bar.close }
}

#[chart(kind = "candlestick", arg = bar)]
fn on_bar(bar: &Bar) -> Option<f64> {
    let even = chartbridge::condition("even", bar.index % 2 == 0);
    even.then_some(bar.close)
}

/// The run is configured from the environment (`CHARTBRIDGE_REDIS_URL`, `CHARTBRIDGE_RUN`, ...).
fn main() {
    let run = chartbridge::start(chartbridge::Config::new("BreakOnBar")).expect("a run");
    let mut sum = 0.0;
    for i in 0..50u64 {
        let bar = Bar { index: i, close: 100.0 + (i % 3) as f64 - 1.0, ts_event: T0 + i * 60_000_000_000 };
        sum += close(&bar) + on_bar(&bar).unwrap_or(0.0);
    }
    drop(run); // flushes and ends the run
    println!("{sum}");
}
