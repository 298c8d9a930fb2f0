//! An EMA-cross strategy on NautilusTrader's BacktestEngine, charted with `#[chart]`: the bars,
//! both EMAs, the volume, a trend EMA computed by the macro, and the fills as markers, all at the
//! simulated time of each bar. Open the run in the Chartbridge panel to see them beside this file.
//!
//! `cargo run --release` (Redis at `CHARTBRIDGE_REDIS_URL`, default redis://127.0.0.1:6379).

use std::fmt::Debug;
use std::time::Duration;

use chartbridge::{Config, Kind, Marker, Point, Series, SeriesSpec, Side, chart};
use nautilus_backtest::config::{BacktestEngineConfig, SimulatedVenueConfig};
use nautilus_backtest::engine::BacktestEngine;
use nautilus_backtest::result::BacktestResult;
use nautilus_common::actor::DataActor;
use nautilus_indicators::average::ema::ExponentialMovingAverage;
use nautilus_indicators::indicator::{Indicator, MovingAverage};
use nautilus_model::data::{Bar, BarType, Data};
use nautilus_model::enums::{AccountType, BookType, OmsType, OrderSide};
use nautilus_model::events::OrderFilled;
use nautilus_model::identifiers::{InstrumentId, StrategyId, Venue};
use nautilus_model::instruments::stubs::audusd_sim;
use nautilus_model::instruments::{Instrument, InstrumentAny};
use nautilus_model::types::{Money, Price, Quantity};
use nautilus_trading::nautilus_strategy;
use nautilus_trading::strategy::{Strategy, StrategyConfig, StrategyCore};

const BARS: u64 = 5_000;

pub struct EmaCross {
    core: StrategyCore,
    instrument_id: InstrumentId,
    bar_type: BarType,
    trade_size: Quantity,
    fast: ExponentialMovingAverage,
    slow: ExponentialMovingAverage,
    fast_above: Option<bool>,
    fills: Option<Series>,
}

nautilus_strategy!(EmaCross);

impl Debug for EmaCross {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmaCross").field("bar_type", &self.bar_type).finish()
    }
}

impl EmaCross {
    fn new(instrument_id: InstrumentId, bar_type: BarType, fills: Option<Series>) -> Self {
        let config = StrategyConfig { strategy_id: Some(StrategyId::from("EmaCross-001")), ..StrategyConfig::default() };
        Self {
            core: StrategyCore::new(config),
            instrument_id,
            bar_type,
            trade_size: Quantity::from("100000"),
            fast: ExponentialMovingAverage::new(10, None),
            slow: ExponentialMovingAverage::new(30, None),
            fast_above: None,
            fills,
        }
    }

    /// The fast EMA, at the bar's time (the `bar` argument carries `ts_event`).
    #[chart(color = "#2962ff")]
    fn fast_ema(&self, bar: &Bar) -> f64 {
        let _ = bar;
        self.fast.value()
    }

    #[chart(color = "#ff6d00")]
    fn slow_ema(&self, bar: &Bar) -> f64 {
        let _ = bar;
        self.slow.value()
    }

    /// The macro's own indicator: EMA(100) of the close, as `EmaCross.close.ema100`.
    #[chart(ema = 100)]
    fn close(&self, bar: &Bar) -> f64 {
        bar.close.as_f64()
    }

    #[chart(kind = "histogram", pane = "volume", color = "#26a69a")]
    fn volume(&self, bar: &Bar) -> f64 {
        bar.volume.as_f64()
    }

    fn enter(&mut self, side: OrderSide) -> anyhow::Result<()> {
        let order = self
            .core
            .order_factory()
            .market(self.instrument_id, side, self.trade_size, None, None, None, None, None, None, None);
        self.submit_order(order, None, None, None)
    }
}

impl DataActor for EmaCross {
    fn on_start(&mut self) -> anyhow::Result<()> {
        self.subscribe_bars(self.bar_type, None, None);
        Ok(())
    }

    /// Nautilus's own handler, `&mut self` and returning `Result<()>`: `arg = bar` charts the bar.
    #[chart(kind = "candlestick", arg = bar)]
    fn on_bar(&mut self, bar: &Bar) -> anyhow::Result<()> {
        self.fast.handle_bar(bar);
        self.slow.handle_bar(bar);
        self.close(bar);
        self.volume(bar);
        if !self.slow.initialized() {
            return Ok(());
        }
        self.fast_ema(bar);
        self.slow_ema(bar);
        let fast_above = self.fast.value() > self.slow.value();
        match self.fast_above {
            Some(false) if fast_above => self.enter(OrderSide::Buy)?,
            Some(true) if !fast_above => self.enter(OrderSide::Sell)?,
            _ => {}
        }
        self.fast_above = Some(fast_above);
        Ok(())
    }

    fn on_order_filled(&mut self, fill: &OrderFilled) -> anyhow::Result<()> {
        if let Some(fills) = &self.fills {
            let side = if fill.order_side == OrderSide::Buy { Side::Buy } else { Side::Sell };
            let text = format!("{:?} {} @ {}", fill.order_side, fill.last_qty, fill.last_px);
            fills.add_at(fill.ts_event.as_i64(), Point::Marker(fill.last_px.as_f64(), Marker::new(Some(side), text)))?;
        }
        Ok(())
    }
}

/// One-minute bars of a deterministic random walk with a slow cycle, so the EMAs cross.
fn generate_bars(bar_type: BarType) -> Vec<Data> {
    let start: u64 = 1_735_689_600_000_000_000; // 2025-01-01T00:00:00Z
    let minute: u64 = 60_000_000_000;
    let mut seed: u64 = 42;
    let mut noise = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut close = 0.65;
    (0..BARS)
        .map(|i| {
            let open = close;
            close = (open + 0.0004 * noise() + 0.00008 * (i as f64 / 150.0).sin()).max(0.1);
            let high = open.max(close) + 0.0002 * noise().abs();
            let low = open.min(close) - 0.0002 * noise().abs();
            let price = |x: f64| Price::from(format!("{x:.5}").as_str());
            let volume = Quantity::from(format!("{}", 100_000 + (noise().abs() * 900_000.0) as u64).as_str());
            let ts = (start + (i + 1) * minute).into();
            Data::Bar(Bar::new(bar_type, price(open), price(high), price(low), price(close), volume, ts, ts))
        })
        .collect()
}

/// End-of-run statistics (SPEC section 6): the engine's counts and its PnL and return stats.
fn results(result: &BacktestResult, elapsed: Duration) -> serde_json::Value {
    let mut stats = serde_json::Map::new();
    stats.insert("bars".into(), BARS.into());
    stats.insert("orders".into(), result.total_orders.into());
    stats.insert("positions".into(), result.total_positions.into());
    stats.insert("backtest seconds".into(), elapsed.as_secs_f64().into());
    for (currency, pnls) in &result.stats_pnls {
        for (name, value) in pnls {
            stats.insert(format!("{name} ({currency})"), (*value).into());
        }
    }
    for (name, value) in result.stats_returns.iter().chain(&result.stats_general) {
        stats.insert(name.clone(), (*value).into());
    }
    // NaN statistics (too few trades) have no JSON form: they are left out.
    stats.retain(|_, v| !v.is_null());
    serde_json::json!({"stats": stats, "trades": []})
}

fn main() -> anyhow::Result<()> {
    let config = Config { source: chartbridge::source!(), ..Config::new("EmaCross") };
    let run_id = config.run.clone();
    let run = chartbridge::start(config)?;
    let fills_spec = SeriesSpec::new("EmaCross.fills", Kind::Marker).target("EmaCross.on_bar");
    let fills = run.series(fills_spec.source(&chartbridge::source!(), line!()))?;

    let mut engine = BacktestEngine::new(BacktestEngineConfig::default())?;
    engine.add_venue(
        SimulatedVenueConfig::builder()
            .venue(Venue::from("SIM"))
            .oms_type(OmsType::Netting)
            .account_type(AccountType::Margin)
            .book_type(BookType::L1_MBP)
            .starting_balances(vec![Money::from("1_000_000 USD")])
            .build(),
    )?;
    let instrument = InstrumentAny::CurrencyPair(audusd_sim());
    engine.add_instrument(&instrument)?;
    let bar_type = BarType::from(format!("{}-1-MINUTE-LAST-EXTERNAL", instrument.id()).as_str());
    engine.add_strategy(EmaCross::new(instrument.id(), bar_type, Some(fills)))?;
    engine.add_data(generate_bars(bar_type), None, true, true)?;

    let started = std::time::Instant::now();
    engine.run(None, None, None, false)?;
    let elapsed = started.elapsed();
    run.results(results(&engine.get_result(), elapsed))?;
    let flushed = run.flush(Duration::from_secs(10));
    let stats = run.stats();
    println!(
        "run {run_id}: {BARS} bars backtested in {elapsed:.2?}; {} points in Redis{}, {} dropped, {} refused",
        stats.written,
        if flushed { "" } else { " (Redis unreachable: backlog not written)" },
        stats.dropped,
        stats.refused
    );
    Ok(())
}
