//! The EMA-cross backtest on NautilusTrader's Rust `BacktestEngine`, charted to a private
//! redis-server: every candle, EMA, spread and fill that Redis holds is compared, value by value
//! and count by count, with what the strategy itself saw and computed (its `Journal`).

#[path = "../../../rust/chartbridge/tests/support/mod.rs"]
mod support;

use std::time::Duration;

use chartbridge::Side;
use chartbridge::wire::Columns;
use nautilus_model::data::{Bar, BarType, Data};
use nautilus_model::enums::OrderSide;
use nautilus_model::identifiers::ClientOrderId;
use rust_strategy::{FAST, Journal, SLOW, Seen, backtest, generate_bars};
use support::{RedisServer, points, registry};

const BARS: u64 = 600;
const RUN: &str = "nt2-ema-cross";

fn line_of(needle: &str) -> u64 {
    let source = include_str!("../src/lib.rs");
    source.lines().position(|l| l.trim() == needle).expect("the attribute line") as u64 + 1
}

fn times(seen: &[&Seen]) -> Vec<i64> {
    seen.iter().map(|s| s.bar.ts_event.as_i64()).collect()
}

/// The times and values of a line the strategy computed (`None`: no point).
fn computed(journal: &Journal, value: impl Fn(&Seen) -> Option<f64>) -> (Vec<i64>, Vec<f64>) {
    let seen: Vec<&Seen> = journal.bars.iter().filter(|s| value(s).is_some()).collect();
    (times(&seen), seen.iter().filter_map(|s| value(s)).collect())
}

fn values(redis: &RedisServer, id: &str) -> (Vec<i64>, Vec<f64>) {
    match points(redis, RUN, id) {
        (t, Columns::Values { y }) => (t, y),
        (_, other) => panic!("{id} is not a value series: {other:?}"),
    }
}

#[test]
fn the_chart_of_a_rust_backtest_holds_exactly_what_the_strategy_saw() {
    let redis = RedisServer::start();
    let run = chartbridge::start(redis.config("EmaCross", RUN)).unwrap();
    let (result, journal) = backtest(&run, BARS, "stdout=Warn", None).unwrap();
    assert!(run.flush(Duration::from_secs(30)), "the run's points did not all reach Redis");
    let stats = run.stats();
    assert_eq!((stats.dropped, stats.refused), (0, 0));
    drop(run);
    assert_eq!(redis.hash(&format!("cbtest:{{{RUN}}}:manifest"))["status"], "ended");

    // The engine handed the strategy every generated bar, once, in order.
    let bar_type = journal.bars[0].bar.bar_type;
    let generated: Vec<Bar> = generate_bars(bar_type, BARS)
        .into_iter()
        .map(|d| match d {
            Data::Bar(bar) => bar,
            other => panic!("not a bar: {other:?}"),
        })
        .collect();
    let seen_bars: Vec<Bar> = journal.bars.iter().map(|s| s.bar).collect();
    assert_eq!(seen_bars, generated);
    assert_eq!(bar_type, BarType::from("AUD/USD.SIM-1-MINUTE-LAST-EXTERNAL"));

    // The series, where `#[chart]` put them: ids from the methods, the source line of each attribute.
    let reg = registry(&redis, RUN);
    let mut ids: Vec<&str> = reg.keys().map(String::as_str).collect();
    ids.sort();
    assert_eq!(ids, ["EmaCross.fast_ema", "EmaCross.fills", "EmaCross.on_bar", "EmaCross.slow_ema", "EmaCross.spread"]);
    let on_bar = &reg["EmaCross.on_bar"];
    assert_eq!(on_bar["kind"], "candlestick");
    assert_eq!(on_bar["options"]["priceFormat"], serde_json::json!({"type": "price", "precision": 5, "minMove": 0.00001}));
    let file = on_bar["source"]["file"].as_str().unwrap();
    assert!(file.ends_with("examples/rust-strategy/src/lib.rs") && file.starts_with('/'), "{file}");
    assert_eq!(on_bar["source"]["line"], line_of(r#"#[chart(kind = "candlestick", arg = bar, precision = 5)]"#));
    assert_eq!(reg["EmaCross.fast_ema"]["source"]["line"], line_of(r##"#[chart(color = "#2962ff", precision = 5)]"##));
    assert_eq!((reg["EmaCross.spread"]["pane"].as_str(), reg["EmaCross.spread"]["kind"].as_str()), (Some("spread"), Some("histogram")));
    assert_eq!(reg["EmaCross.fills"]["target"], "EmaCross.on_bar");

    // Every bar as a candle at its ts_event, with exactly the prices and volume the strategy got:
    // each price is the f64 of a 5-decimal Price, and printed with 5 decimals it is that Price.
    let all: Vec<&Seen> = journal.bars.iter().collect();
    let (t, columns) = points(&redis, RUN, "EmaCross.on_bar");
    let Columns::Candles { o, h, l, c, vol: Some(vol) } = columns else { panic!("candles with volume expected") };
    assert_eq!(t, times(&all));
    assert_eq!(t.len(), BARS as usize);
    let column = |price: fn(&Bar) -> f64| -> Vec<f64> { seen_bars.iter().map(price).collect() };
    assert_eq!(o, column(|b| b.open.as_f64()));
    assert_eq!(h, column(|b| b.high.as_f64()));
    assert_eq!(l, column(|b| b.low.as_f64()));
    assert_eq!(c, column(|b| b.close.as_f64()));
    assert_eq!(vol, column(|b| b.volume.as_f64()));
    let printed: Vec<String> = c.iter().map(|x| format!("{x:.5}")).collect();
    assert_eq!(printed, seen_bars.iter().map(|b| b.close.to_string()).collect::<Vec<_>>());

    // Nautilus's EMAs from their `period`-th bar on, and the spread the strategy traded on.
    let fast = computed(&journal, |s| s.fast);
    let slow = computed(&journal, |s| s.slow);
    let spread = computed(&journal, |s| s.spread);
    assert_eq!(fast.0.len(), BARS as usize - FAST + 1);
    assert_eq!(slow.0.len(), BARS as usize - SLOW + 1);
    assert_eq!(spread.0, slow.0);
    assert_eq!(values(&redis, "EmaCross.fast_ema"), fast);
    assert_eq!(values(&redis, "EmaCross.slow_ema"), slow);
    assert_eq!(values(&redis, "EmaCross.spread"), spread);

    // One market order per change of sign of the spread (a buy where the fast EMA went above),
    // each filled for the trade size, in one fill or several across the bar's prices.
    let crosses: Vec<OrderSide> = spread
        .1
        .windows(2)
        .filter(|w| (w[0] > 0.0) != (w[1] > 0.0))
        .map(|w| if w[1] > 0.0 { OrderSide::Buy } else { OrderSide::Sell })
        .collect();
    assert!(crosses.len() >= 2, "the synthetic bars should make the EMAs cross: {crosses:?}");
    assert_eq!(result.total_orders, crosses.len());
    let mut orders: Vec<(ClientOrderId, OrderSide, f64)> = Vec::new();
    for fill in &journal.fills {
        match orders.last_mut() {
            Some((id, _, quantity)) if *id == fill.client_order_id => *quantity += fill.last_qty.as_f64(),
            _ => orders.push((fill.client_order_id, fill.order_side, fill.last_qty.as_f64())),
        }
    }
    assert_eq!(orders.iter().map(|o| o.1).collect::<Vec<_>>(), crosses);
    assert!(orders.iter().all(|o| o.2 == 100_000.0), "{orders:?}");

    // Every fill a marker at its time and price, with its side and text.
    let (t, columns) = points(&redis, RUN, "EmaCross.fills");
    let Columns::Markers { y, m } = columns else { panic!("markers expected") };
    assert_eq!(t, journal.fills.iter().map(|f| f.ts_event.as_i64()).collect::<Vec<_>>());
    assert_eq!(y, journal.fills.iter().map(|f| f.last_px.as_f64()).collect::<Vec<_>>());
    for (marker, fill) in m.iter().zip(&journal.fills) {
        let side = if fill.order_side == OrderSide::Buy { Side::Buy } else { Side::Sell };
        assert_eq!(marker.side, Some(side));
        assert_eq!(marker.text, format!("{:?} {} @ {}", fill.order_side, fill.last_qty, fill.last_px));
    }

    // The end-of-run statistics are the engine's.
    let raw: Vec<u8> = redis::cmd("GET").arg(format!("cbtest:{{{RUN}}}:results")).query(&mut redis.connect()).unwrap();
    let results: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(results["stats"]["bars"], BARS);
    assert_eq!(results["stats"]["orders"], result.total_orders);
    assert_eq!(results["stats"]["positions"], result.total_positions);
}
