//! Every `#[chart]` form against a private redis-server: what each call writes, the series it
//! registers (id, kind, pane, options, source line) and the time each point gets.

mod support;

use std::time::Duration;

use chartbridge::wire::Columns;
use chartbridge::{Candle, Chartable, Point, TsEvent, chart};
use serde_json::json;
use support::{RedisServer, global_run_lock, points, registry};

const T0: i64 = 1_700_000_000_000_000_000;

/// A bar as an integration would hand it over: it carries its event time.
struct Bar {
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
    ts_event: u64,
}

impl TsEvent for Bar {
    fn ts_event(&self) -> u64 {
        self.ts_event
    }
}

impl Chartable for Bar {
    fn to_point(&self) -> Option<Point> {
        Some(Point::Candle(Candle { open: self.open, high: self.high, low: self.low, close: self.close, volume: Some(self.volume) }))
    }
}

fn bar(i: u64, close: f64) -> Bar {
    Bar { open: close - 0.5, high: close + 1.0, low: close - 1.0, close, volume: 100.0 + i as f64, ts_event: T0 as u64 + i * 60_000_000_000 }
}

/// The handler trait of an engine, as Nautilus's `DataActor`: `&mut self`, a fixed signature.
trait Handler {
    fn on_bar(&mut self, bar: &Bar) -> Result<(), String>;
}

struct Strategy {
    fast: f64,
    bars: usize,
}

impl Handler for Strategy {
    #[chart(kind = "candlestick", arg = bar)]
    fn on_bar(&mut self, bar: &Bar) -> Result<(), String> {
        self.bars += 1;
        self.fast = self.fast_ema(bar.close);
        Ok(())
    }
}

impl Strategy {
    #[chart(color = "#2962ff", options = r#"{"lineWidth": 2}"#, precision = 5, unit = "USD")]
    fn fast_ema(&mut self, close: f64) -> f64 {
        if self.bars == 1 {
            return close; // an early return is charted too
        }
        self.fast + 0.5 * (close - self.fast)
    }

    #[chart(ema = 3)]
    fn mid(&self, bar: &Bar) -> f64 {
        (bar.high + bar.low) / 2.0
    }

    #[chart(sma = 2, ema = 2, raw = true, name = "signals/spread")]
    fn spread(&self, bar: &Bar) -> Option<f64> {
        (bar.close > 100.0).then_some(bar.high - bar.low)
    }
}

#[chart(kind = "histogram", pane = "volume", title = "Volume")]
fn volume(bar: &Bar) -> f64 {
    bar.volume
}

#[chart]
fn ohlc(bar: &Bar) -> (f64, f64, f64, f64) {
    (bar.open, bar.high, bar.low, bar.close)
}

#[derive(Debug)]
struct ParseError;

impl From<std::num::ParseFloatError> for ParseError {
    fn from(_: std::num::ParseFloatError) -> ParseError {
        ParseError
    }
}

/// `?` converts the error through `From`, exactly as without the attribute; `Err` charts nothing.
#[chart(kind = "area")]
fn parsed(text: &str) -> Result<f64, ParseError> {
    let value: f64 = text.parse()?;
    Ok(value * 2.0)
}

#[chart]
fn opaque(x: f64) -> impl Chartable {
    x + 1.0
}

fn ys(columns: &Columns) -> &[f64] {
    match columns {
        Columns::Values { y } => y,
        other => panic!("not a value series: {other:?}"),
    }
}

fn line_of(needle: &str) -> u32 {
    let source = include_str!("chart_macro.rs");
    source.lines().position(|l| l.trim() == needle).expect("the attribute line") as u32 + 1
}

#[test]
fn every_chart_form_writes_its_series() {
    let _turn = global_run_lock();
    let redis = RedisServer::start();
    let run = chartbridge::start(redis.config("Strategy", "forms")).unwrap();
    let mut strategy = Strategy { fast: 0.0, bars: 0 };
    let bars: Vec<Bar> = (0..4).map(|i| bar(i, 100.0 + i as f64)).collect();
    for b in &bars {
        strategy.on_bar(b).unwrap();
        strategy.mid(b);
        strategy.spread(b);
        volume(b);
        ohlc(b);
    }
    assert_eq!(parsed("1.5").unwrap(), 3.0);
    assert!(parsed("x").is_err());
    chartbridge::set_clock(T0 + 7);
    opaque(1.0);
    chartbridge::clear_clock();
    assert!(run.flush(Duration::from_secs(5)));
    let stats = run.stats();
    assert_eq!((stats.dropped, stats.refused), (0, 0));

    let times: Vec<i64> = bars.iter().map(|b| b.ts_event as i64).collect();
    let reg = registry(&redis, "forms");
    let mut ids: Vec<&str> = reg.keys().map(String::as_str).collect();
    ids.sort();
    assert_eq!(
        ids,
        ["Strategy.fast_ema", "Strategy.mid.ema3", "Strategy.on_bar", "ohlc", "opaque", "parsed", "signals/spread", "signals/spread.ema2", "signals/spread.sma2", "volume"]
    );
    let file = reg["volume"]["source"]["file"].as_str().unwrap();
    assert!(file.ends_with("rust/chartbridge/tests/chart_macro.rs") && file.starts_with('/'), "{file}");
    assert_eq!(std::fs::read_to_string(file).unwrap(), include_str!("chart_macro.rs"));

    // The trait method charts its `bar` argument as a candle, at the bar's ts_event.
    assert_eq!(reg["Strategy.on_bar"]["kind"], "candlestick");
    assert_eq!(reg["Strategy.on_bar"]["source"]["line"], line_of(r#"#[chart(kind = "candlestick", arg = bar)]"#));
    let (t, columns) = points(&redis, "forms", "Strategy.on_bar");
    assert_eq!(t, times);
    assert!(matches!(&columns, Columns::Candles { c, vol: Some(v), .. } if c == &[100.0, 101.0, 102.0, 103.0] && v == &[100.0, 101.0, 102.0, 103.0]));

    // A method without a time-carrying argument, called from on_bar: wall clock, early return charted.
    assert_eq!(
        reg["Strategy.fast_ema"],
        json!({"kind": "line", "pane": "main", "title": "Strategy.fast_ema", "color": "#2962ff",
               "options": {"lineWidth": 2, "priceFormat": {"type": "price", "precision": 5, "minMove": 0.00001}, "unit": "USD"},
               "source": {"file": file, "line": line_of(r##"#[chart(color = "#2962ff", options = r#"{"lineWidth": 2}"#, precision = 5, unit = "USD")]"##)}})
    );
    let (t, columns) = points(&redis, "forms", "Strategy.fast_ema");
    assert_eq!(ys(&columns), [100.0, 100.5, 101.25, 102.125]);
    assert!(t.windows(2).all(|w| w[0] <= w[1]) && t[0] > T0 + 3_600_000_000_000);

    // EMA(3) only, by default, as the Python SDK and Nautilus: alpha = 0.5, seeded with the first
    // value (100, 100.5, then charted from the third: 101.25, 102.125).
    assert_eq!(reg["Strategy.mid.ema3"]["title"], "Strategy.mid.ema3");
    let (t, columns) = points(&redis, "forms", "Strategy.mid.ema3");
    assert_eq!((t, ys(&columns).to_vec()), (times[2..].to_vec(), vec![101.25, 102.125]));

    // `None` charts nothing; the indicators start once they have seen their period.
    let (t, columns) = points(&redis, "forms", "signals/spread");
    assert_eq!((t.len(), ys(&columns).to_vec()), (3, vec![2.0, 2.0, 2.0]));
    assert_eq!(ys(&points(&redis, "forms", "signals/spread.sma2").1), [2.0, 2.0]);
    assert_eq!(ys(&points(&redis, "forms", "signals/spread.ema2").1), [2.0, 2.0]);

    assert_eq!(reg["volume"]["pane"], "volume");
    assert_eq!(reg["volume"]["title"], "Volume");
    assert_eq!(reg["volume"]["kind"], "histogram");
    assert_eq!(ys(&points(&redis, "forms", "volume").1), [100.0, 101.0, 102.0, 103.0]);

    assert_eq!(reg["ohlc"]["kind"], "candlestick");
    let (t, columns) = points(&redis, "forms", "ohlc");
    assert!(t == times && matches!(&columns, Columns::Candles { vol: None, .. }));

    assert_eq!(reg["parsed"]["kind"], "area");
    assert_eq!(ys(&points(&redis, "forms", "parsed").1), [3.0]);

    // The integration clock wins over the wall clock.
    let (t, columns) = points(&redis, "forms", "opaque");
    assert_eq!((t, ys(&columns).to_vec()), (vec![T0 + 7], vec![2.0]));
    drop(run);
    assert_eq!(redis.hash("cbtest:{forms}:manifest")["status"], "ended");
}

#[test]
fn the_integration_clock_wins_over_an_argument_time() {
    let _turn = global_run_lock();
    let redis = RedisServer::start();
    let run = chartbridge::start(redis.config("Clock", "clock")).unwrap();
    chartbridge::set_clock(T0 + 42);
    volume(&bar(1, 5.0));
    chartbridge::clear_clock();
    volume(&bar(2, 6.0));
    assert!(run.flush(Duration::from_secs(5)));
    assert_eq!(points(&redis, "clock", "volume").0, [T0 + 42, bar(2, 6.0).ts_event as i64]);
}

/// A backtest handler that sets the clock to its event first, as the README says to.
struct Clocked;

impl Handler for Clocked {
    #[chart(kind = "candlestick", arg = bar, name = "clocked")]
    fn on_bar(&mut self, bar: &Bar) -> Result<(), String> {
        chartbridge::set_clock(bar.ts_event as i64);
        Ok(())
    }
}

#[test]
fn a_charted_argument_is_at_its_own_time_when_the_clock_still_holds_the_previous_event() {
    let _turn = global_run_lock();
    let redis = RedisServer::start();
    let run = chartbridge::start(redis.config("Clocked", "clocked")).unwrap();
    let bars: Vec<Bar> = (0..3).map(|i| bar(i, 100.0 + i as f64)).collect();
    for b in &bars {
        Clocked.on_bar(b).unwrap();
    }
    chartbridge::clear_clock();
    assert!(run.flush(Duration::from_secs(5)));
    let times: Vec<i64> = bars.iter().map(|b| b.ts_event as i64).collect();
    let (t, columns) = points(&redis, "clocked", "clocked");
    assert_eq!(t, times);
    assert!(matches!(&columns, Columns::Candles { c, .. } if c == &[100.0, 101.0, 102.0]));
}

#[test]
fn disabled_charting_writes_no_point_and_the_function_still_runs() {
    let _turn = global_run_lock();
    let redis = RedisServer::start();
    let run = chartbridge::start(redis.config("Off", "off")).unwrap();
    chartbridge::set_enabled(false);
    let value = volume(&bar(1, 5.0));
    chartbridge::set_enabled(true);
    assert_eq!(value, 101.0);
    assert!(run.flush(Duration::from_secs(5)));
    assert!(redis.stream("cbtest:{off}:s:volume").is_empty());
    assert_eq!(run.stats().written, 0);
}

#[test]
fn after_the_run_ends_calls_chart_nothing() {
    let _turn = global_run_lock();
    let redis = RedisServer::start();
    drop(chartbridge::start(redis.config("Ended", "ended")).unwrap());
    assert_eq!(volume(&bar(1, 5.0)), 101.0);
    assert!(redis.stream("cbtest:{ended}:s:volume").is_empty());
}
