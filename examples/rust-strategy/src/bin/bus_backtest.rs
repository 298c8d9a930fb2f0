//! The EMA-cross backtest of `src/lib.rs` with NautilusTrader's own message bus written to a
//! Redis, for the Chartbridge server's bus bridge (protocol/SPEC.md section 8), and its
//! `#[chart]` series to `CHARTBRIDGE_REDIS_URL` (with `CHARTBRIDGE_PREFIX`) as `src/main.rs` does.
//!
//! usage: bus_backtest HOST PORT TRADER_ID BARS json|msgpack
//!
//! The bus is configured as a user would: `MessageBusConfig { encoding, stream_per_topic: true }`
//! (one stream per topic, 2.x's default) and `RedisMessageBusConfig { host, port }`.
//!
//! Prints what the strategy saw, one JSON object a line, for the test to compare with the chart:
//! `{"bar": {t, o, h, l, c, v}}` per bar, `{"fill": {t, order, side, px, pxText, qty, position,
//! net}}` per fill (`net`: the net position after it, from the fills), then `{"end": {bars,
//! fills, orders, trader, instance, run}}` (`run`: the `#[chart]` run's id). Times are ns as decimal strings; prices and sizes the numbers of
//! Nautilus's decimal texts.

use std::time::Duration;

use anyhow::{Context, bail};
use chartbridge::Config;
use nautilus_common::enums::SerializationEncoding;
use nautilus_common::msgbus::MessageBusConfig;
use nautilus_infrastructure::redis::msgbus::RedisMessageBusConfig;
use nautilus_model::enums::OrderSide;
use nautilus_model::identifiers::TraderId;
use rust_strategy::RedisBus;
use serde_json::json;

const USAGE: &str = "usage: bus_backtest HOST PORT TRADER_ID BARS json|msgpack";

/// The number a decimal text stands for (what the chart shows of it).
fn number(text: String) -> anyhow::Result<f64> {
    text.parse().with_context(|| format!("{text:?} is not a number"))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, port, trader, bars, encoding] = args.as_slice() else { bail!("{USAGE}: got {} arguments", args.len()) };
    let port: u16 = port.parse().with_context(|| format!("PORT {port:?} is not a port number; {USAGE}"))?;
    let bars: u64 = bars.parse().with_context(|| format!("BARS {bars:?} is not a count; {USAGE}"))?;
    let encoding = match encoding.as_str() {
        "json" => SerializationEncoding::Json,
        "msgpack" => SerializationEncoding::MsgPack,
        other => bail!("ENCODING {other:?} is neither json nor msgpack; {USAGE}"),
    };
    let bus = RedisBus {
        trader_id: TraderId::new_checked(trader).with_context(|| format!("TRADER_ID {trader:?}"))?,
        config: MessageBusConfig { encoding, stream_per_topic: true, ..MessageBusConfig::default() },
        redis: RedisMessageBusConfig { host: Some(host.clone()), port: Some(port), ..RedisMessageBusConfig::default() },
    };

    let config = Config { source: chartbridge::source!(), ..Config::new("EmaCross") };
    let run_id = config.run.clone();
    let run = chartbridge::start(config)?;
    // Nautilus's warnings would go to stdout among the JSON lines; its errors go to stderr.
    let (result, journal) = rust_strategy::backtest(&run, bars, "stdout=Error", Some(&bus))?;
    if !run.flush(Duration::from_secs(30)) {
        bail!("the #[chart] points did not all reach CHARTBRIDGE_REDIS_URL");
    }

    for seen in &journal.bars {
        let b = seen.bar;
        let bar = json!({"t": b.ts_event.to_string(), "o": number(b.open.to_string())?, "h": number(b.high.to_string())?,
            "l": number(b.low.to_string())?, "c": number(b.close.to_string())?, "v": number(b.volume.to_string())?});
        println!("{}", json!({ "bar": bar }));
    }
    // The example's sizes are whole units, so this sum of doubles is exact.
    let mut net = 0.0;
    for f in &journal.fills {
        let qty = number(f.last_qty.to_string())?;
        let buy = f.order_side == OrderSide::Buy;
        net += if buy { qty } else { -qty };
        let fill = json!({"t": f.ts_event.to_string(), "order": f.client_order_id.to_string(), "side": if buy { "buy" } else { "sell" },
            "px": number(f.last_px.to_string())?, "pxText": f.last_px.to_string(), "qty": f.last_qty.to_string(),
            "position": f.position_id.map(|p| p.to_string()), "net": net});
        println!("{}", json!({ "fill": fill }));
    }
    let end = json!({"bars": journal.bars.len(), "fills": journal.fills.len(), "orders": result.total_orders, "trader": trader, "instance": result.instance_id.to_string(), "run": run_id});
    println!("{}", json!({ "end": end }));
    Ok(())
}
