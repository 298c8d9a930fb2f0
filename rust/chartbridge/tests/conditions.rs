//! `chartbridge::condition` against a private redis-server: one named boolean per bar, a `line`
//! series of role `condition` (SPEC section 5), scoped to the `#[chart]` function that checked it
//! and timed by its call (the integration clock, else the bar's `ts_event`).

mod support;

use std::time::Duration;

use chartbridge::{TsEvent, chart};
use serde_json::{Value, json};
use support::{RedisServer, global_run_lock, line_points};

const T0: i64 = 1_700_000_000_000_000_000;
const MIN: i64 = 60_000_000_000;

struct Bar {
    i: i64,
    ts_event: u64,
}

impl TsEvent for Bar {
    fn ts_event(&self) -> u64 {
        self.ts_event
    }
}

struct Strategy;

impl Strategy {
    /// A signal: 1 where both conditions held (the chart lists them where it stayed 0).
    #[chart(pane = "signal")]
    fn entry(&self, bar: &Bar) -> f64 {
        let even = chartbridge::condition("even", bar.i % 2 == 0);
        let third = chartbridge::condition("third > 0", bar.i % 3 == 0);
        if even && third { 1.0 } else { 0.0 }
    }
}

fn registry(redis: &RedisServer, run: &str, id: &str) -> Value {
    let raw = redis.hash(&format!("cbtest:{{{run}}}:series")).remove(id).unwrap_or_else(|| panic!("{id} is not registered"));
    serde_json::from_str(&raw).unwrap()
}

#[test]
fn a_chart_function_records_the_conditions_it_checked_at_each_bar_time() {
    let _turn = global_run_lock();
    let redis = RedisServer::start();
    let run = chartbridge::start(redis.config("Strategy", "conds")).unwrap();
    let bars: Vec<Bar> = (0..12).map(|i| Bar { i, ts_event: (T0 + i * MIN) as u64 }).collect();
    let fired: Vec<f64> = bars.iter().map(|b| Strategy.entry(b)).collect();
    assert!(run.flush(Duration::from_secs(5)));
    let times: Vec<i64> = bars.iter().map(|b| b.ts_event as i64).collect();
    let (t, y) = line_points(&redis, "cbtest:{conds}:s:Strategy.entry:even");
    assert_eq!((t, y), (times.clone(), bars.iter().map(|b| if b.i % 2 == 0 { 1.0 } else { 0.0 }).collect::<Vec<_>>()));
    let (t, y) = line_points(&redis, "cbtest:{conds}:s:Strategy.entry:third___0");
    assert_eq!((t, y), (times.clone(), bars.iter().map(|b| if b.i % 3 == 0 { 1.0 } else { 0.0 }).collect::<Vec<_>>()));
    assert_eq!(line_points(&redis, "cbtest:{conds}:s:Strategy.entry").1, fired);
    let line = include_str!("conditions.rs").lines().position(|l| l.contains("condition(\"even\"")).unwrap() as u32 + 1;
    assert_eq!(
        registry(&redis, "conds", "Strategy.entry:even"),
        json!({"kind": "line", "pane": "conditions", "title": "even", "options": {"lineType": 1},
               "source": {"file": concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conditions.rs"), "line": line},
               "target": "Strategy.entry", "role": "condition"})
    );
    assert_eq!(registry(&redis, "conds", "Strategy.entry:third___0")["title"], "third > 0");
}

#[test]
fn outside_a_chart_function_at_the_integration_clock_and_returns_the_value() {
    let _turn = global_run_lock();
    let redis = RedisServer::start();
    let run = chartbridge::start(redis.config("Strategy", "free")).unwrap();
    let seen: Vec<bool> = (0..5)
        .map(|i| {
            chartbridge::set_clock(T0 + i * MIN);
            chartbridge::condition("flat", i % 2 == 0)
        })
        .collect();
    chartbridge::clear_clock();
    assert_eq!(seen, [true, false, true, false, true]);
    assert!(run.flush(Duration::from_secs(5)));
    assert_eq!(line_points(&redis, "cbtest:{free}:s:conditions:flat"), ((0..5).map(|i| T0 + i * MIN).collect(), vec![1.0, 0.0, 1.0, 0.0, 1.0]));
    let entry = registry(&redis, "free", "conditions:flat");
    assert_eq!((entry["role"].as_str(), entry.get("target")), (Some("condition"), None));
}
