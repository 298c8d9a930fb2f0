//! An EMA-cross strategy on NautilusTrader's Rust `BacktestEngine` (the crates of nautilus_trader
//! 2.x), charted with `#[chart]`: the bars as candles with the instrument's 5 decimals, Nautilus's
//! own fast and slow EMAs, the spread the strategy trades on, and the fills as markers, each at
//! its bar's simulated time. Open the run in the Chartbridge panel to see them beside this file.
//!
//! `src/main.rs` runs it against `CHARTBRIDGE_REDIS_URL`; `tests/backtest.rs` runs it against a
//! private redis-server and compares what Redis holds with the [`Journal`] of what it saw.
//! `src/bin/bus_backtest.rs` also writes Nautilus's own message bus to Redis ([`RedisBus`]), for
//! the server's bus bridge (protocol/SPEC.md section 8).

use std::cell::RefCell;
use std::fmt::Debug;
use std::rc::Rc;

use chartbridge::{Kind, Marker, Point, Run, Series, SeriesSpec, Side, chart};
use nautilus_backtest::config::{BacktestEngineConfig, SimulatedVenueConfig};
use nautilus_backtest::engine::BacktestEngine;
use nautilus_backtest::result::BacktestResult;
use nautilus_common::actor::DataActor;
use nautilus_common::live::get_runtime;
use nautilus_common::logging::config::LoggerConfig;
use nautilus_common::msgbus::{MessageBusBackingFactory, MessageBusConfig, external_egress_from_backing, get_message_bus};
use nautilus_execution::models::fee::{FeeModelAny, MakerTakerFeeModel};
use nautilus_indicators::average::ema::ExponentialMovingAverage;
use nautilus_indicators::indicator::{Indicator, MovingAverage};
use nautilus_infrastructure::redis::msgbus::{RedisMessageBusConfig, RedisMessageBusFactory};
use nautilus_infrastructure::redis::{create_redis_connection, get_redis_url};
use nautilus_model::data::{Bar, BarType, Data};
use nautilus_model::enums::{AccountType, BookType, OmsType, OrderSide};
use nautilus_model::events::OrderFilled;
use nautilus_model::identifiers::{InstrumentId, StrategyId, TraderId, Venue};
use nautilus_model::instruments::stubs::audusd_sim;
use nautilus_model::instruments::{Instrument, InstrumentAny};
use nautilus_model::types::{Money, Price, Quantity};
use nautilus_trading::nautilus_strategy;
use nautilus_trading::strategy::{Strategy, StrategyConfig, StrategyCore};

pub const FAST: usize = 10;
pub const SLOW: usize = 30;

/// One bar as the strategy saw it, and what it computed from it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub bar: Bar,
    /// Nautilus's EMAs once each is initialized (its first `period` bars give none).
    pub fast: Option<f64>,
    pub slow: Option<f64>,
    /// `fast - slow` once both are: a change of sign is a cross, and an order.
    pub spread: Option<f64>,
}

/// Everything the strategy saw, in order: what the chart must show.
#[derive(Debug, Default)]
pub struct Journal {
    pub bars: Vec<Seen>,
    pub fills: Vec<OrderFilled>,
}

pub struct EmaCross {
    core: StrategyCore,
    instrument_id: InstrumentId,
    bar_type: BarType,
    trade_size: Quantity,
    fast: ExponentialMovingAverage,
    slow: ExponentialMovingAverage,
    fast_above: Option<bool>,
    fills: Series,
    journal: Rc<RefCell<Journal>>,
}

nautilus_strategy!(EmaCross, {
    fn on_order_filled(&mut self, fill: &OrderFilled) {
        let side = if fill.order_side == OrderSide::Buy { Side::Buy } else { Side::Sell };
        let text = format!("{:?} {} @ {}", fill.order_side, fill.last_qty, fill.last_px);
        let marker = Point::Marker(fill.last_px.as_f64(), Marker::new(Some(side), text));
        // A refused point is counted in the run's stats; the strategy trades on regardless.
        let _ = self.fills.add_at(fill.ts_event.as_i64(), marker);
        self.journal.borrow_mut().fills.push(fill.clone());
    }
});

impl Debug for EmaCross {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmaCross").field("bar_type", &self.bar_type).finish()
    }
}

impl EmaCross {
    pub fn new(instrument_id: InstrumentId, bar_type: BarType, fills: Series, journal: Rc<RefCell<Journal>>) -> Self {
        let config = StrategyConfig { strategy_id: Some(StrategyId::from("EmaCross-001")), ..StrategyConfig::default() };
        Self {
            core: StrategyCore::new(config),
            instrument_id,
            bar_type,
            trade_size: Quantity::from("100000"),
            fast: ExponentialMovingAverage::new(FAST, None),
            slow: ExponentialMovingAverage::new(SLOW, None),
            fast_above: None,
            fills,
            journal,
        }
    }

    /// Feeds the bar to Nautilus's fast EMA and charts its value.
    #[chart(color = "#2962ff", precision = 5)]
    fn fast_ema(&mut self, bar: &Bar) -> Option<f64> {
        self.fast.handle_bar(bar);
        self.fast.initialized().then(|| self.fast.value())
    }

    #[chart(color = "#ff6d00", precision = 5)]
    fn slow_ema(&mut self, bar: &Bar) -> Option<f64> {
        self.slow.handle_bar(bar);
        self.slow.initialized().then(|| self.slow.value())
    }

    /// What the strategy trades on, in its own pane (at the clock `on_bar` set).
    #[chart(pane = "spread", kind = "histogram", precision = 6)]
    fn spread(&self) -> Option<f64> {
        (self.fast.initialized() && self.slow.initialized()).then(|| self.fast.value() - self.slow.value())
    }

    fn enter(&mut self, side: OrderSide) -> anyhow::Result<()> {
        let order = self.order().market(self.instrument_id, side, self.trade_size, None, None, None, None, None, None, None);
        self.submit_order(order, None, None, None)
    }
}

impl DataActor for EmaCross {
    fn on_start(&mut self) -> anyhow::Result<()> {
        self.subscribe_bars(self.bar_type, None, None);
        Ok(())
    }

    fn on_stop(&mut self) -> anyhow::Result<()> {
        self.unsubscribe_bars(self.bar_type, None, None);
        Ok(())
    }

    /// Nautilus's own handler: `arg = bar` charts the bar as a candle (with volume) at its
    /// `ts_event`, with the 5 decimals of AUD/USD's prices.
    #[chart(kind = "candlestick", arg = bar, precision = 5)]
    fn on_bar(&mut self, bar: &Bar) -> anyhow::Result<()> {
        // Simulated time: what this handler charts is at the bar's time, and this thread waits
        // for the writer rather than dropping a point (rust/chartbridge/README.md, "Outages").
        chartbridge::set_clock(bar.ts_event.as_i64());
        let fast = self.fast_ema(bar);
        let slow = self.slow_ema(bar);
        let spread = self.spread();
        self.journal.borrow_mut().bars.push(Seen { bar: *bar, fast, slow, spread });
        let Some(spread) = spread else { return Ok(()) };
        let fast_above = spread > 0.0;
        match self.fast_above {
            Some(false) if fast_above => self.enter(OrderSide::Buy)?,
            Some(true) if !fast_above => self.enter(OrderSide::Sell)?,
            _ => {}
        }
        self.fast_above = Some(fast_above);
        Ok(())
    }
}

/// `count` one-minute AUD/USD bars of a deterministic random walk with a slow cycle, so the EMAs
/// cross; prices with AUD/USD's 5 decimals.
pub fn generate_bars(bar_type: BarType, count: u64) -> Vec<Data> {
    let start: u64 = 1_735_689_600_000_000_000; // 2025-01-01T00:00:00Z
    let minute: u64 = 60_000_000_000;
    let mut seed: u64 = 42;
    let mut noise = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut close = 0.65;
    (0..count)
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

/// How long the engine ran, on the wall clock (`elapsed_time_secs` is the simulated span).
pub fn run_seconds(result: &BacktestResult) -> Option<f64> {
    Some((result.run_finished?.as_u64() - result.run_started?.as_u64()) as f64 / 1e9)
}

/// End-of-run statistics (SPEC section 6): the engine's counts and its PnL and return stats.
pub fn results(result: &BacktestResult, bars: u64) -> serde_json::Value {
    let mut stats = serde_json::Map::new();
    stats.insert("bars".into(), bars.into());
    stats.insert("orders".into(), result.total_orders.into());
    stats.insert("positions".into(), result.total_positions.into());
    if let Some(seconds) = run_seconds(result) {
        stats.insert("backtest seconds".into(), seconds.into());
    }
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

/// Nautilus's own message bus of a backtest, written to a Redis under `trader-<trader_id>`.
#[derive(Debug, Clone)]
pub struct RedisBus {
    pub trader_id: TraderId,
    /// The user's choices: `encoding`, `stream_per_topic`, `use_instance_id`, ...
    pub config: MessageBusConfig,
    pub redis: RedisMessageBusConfig,
}

/// Writes the engine's message bus to Redis, as a `LiveNode` does. 2.x's `BacktestEngine::new`
/// builds its kernel with a bus of its own and no external egress (only `NautilusKernelBuilder`,
/// which `LiveNode` uses, installs one), so this does what that builder does, on the bus the
/// engine's kernel made current. `engine.dispose()` closes it, writing what it still holds.
///
/// Fails if that Redis does not answer: the backing's writer would only log it, as the process
/// exits, and the backtest would write its bus nowhere.
pub fn attach_redis_bus(engine: &BacktestEngine, bus: &RedisBus) -> anyhow::Result<()> {
    bus.config.validate()?;
    let (_, url) = get_redis_url(&bus.redis);
    // One attempt: the backing's own connection retries for minutes.
    let once = RedisMessageBusConfig { number_of_retries: 0, ..bus.redis.clone() };
    get_runtime()
        .block_on(create_redis_connection("msgbus-check", &once))
        .map_err(|e| anyhow::anyhow!("the message bus's Redis at {url} does not answer: {e}"))?;
    let backing = RedisMessageBusFactory::new(bus.redis.clone()).create(engine.trader_id(), engine.instance_id(), bus.config.clone())?;
    get_message_bus().borrow_mut().set_external_egress_config(external_egress_from_backing(backing), &bus.config)?;
    Ok(())
}

/// The backtest of `bars` bars on a simulated venue, charted to `run` (which gets the results
/// too), with Nautilus's logging set by `log` (`"stdout=Info"`, see `LoggerConfig::from_spec`)
/// and its message bus written to `bus` if given; returns the engine's result and what the
/// strategy saw.
pub fn backtest(run: &Run, bars: u64, log: &str, bus: Option<&RedisBus>) -> anyhow::Result<(BacktestResult, Journal)> {
    let fills_spec = SeriesSpec::new("EmaCross.fills", Kind::Marker).target("EmaCross.on_bar");
    let fills = run.series(fills_spec.source(&chartbridge::source!(), line!()))?;

    let mut config = BacktestEngineConfig { logging: LoggerConfig::from_spec(log)?, ..BacktestEngineConfig::default() };
    if let Some(bus) = bus {
        config.trader_id = bus.trader_id;
        config.msgbus = Some(bus.config.clone());
    }
    let mut engine = BacktestEngine::new(config)?;
    if let Some(bus) = bus {
        attach_redis_bus(&engine, bus)?;
    }
    engine.add_venue(
        SimulatedVenueConfig::builder()
            .venue(Venue::from("SIM"))
            .oms_type(OmsType::Netting)
            .account_type(AccountType::Margin)
            .book_type(BookType::L1_MBP)
            .starting_balances(vec![Money::from("1_000_000 USD")])
            // 2.x wants the fee model said outright; none here, as in Nautilus's own EMA-cross example.
            .fee_model(FeeModelAny::MakerTaker(MakerTakerFeeModel::zero()).into())
            .build()?,
    )?;
    let instrument = InstrumentAny::CurrencyPair(audusd_sim());
    engine.add_instrument(&instrument)?;
    let bar_type = BarType::from(format!("{}-1-MINUTE-LAST-EXTERNAL", instrument.id()).as_str());
    let journal = Rc::new(RefCell::new(Journal::default()));
    engine.add_strategy(EmaCross::new(instrument.id(), bar_type, fills, Rc::clone(&journal)))?;
    engine.add_data(generate_bars(bar_type, bars), None, true, true)?;
    engine.run(None, None, None, false)?;
    chartbridge::clear_clock();
    let result = engine.get_result();
    run.results(results(&result, bars))?;
    engine.dispose();
    Ok((result, journal.take()))
}
