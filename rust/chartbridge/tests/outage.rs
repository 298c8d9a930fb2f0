//! The loss policy of protocol/SPEC.md ("Outages and loss") against a private redis-server: no
//! point lost while Redis answers, whatever the call rate; a hung Redis loses nothing within the
//! backlog bound; beyond it the oldest points go, counted per series, recorded in the run's
//! `lost` hash, and indicators keep the values they have with every input.

mod support;

use std::time::{Duration, Instant};

use chartbridge::{Kind, Publisher, SeriesSpec, TsEvent, chart};
use support::{RedisServer, global_run_lock, line_points};

const T0: i64 = 1_700_000_000_000_000_000;

/// A tick as an integration hands it over: it carries its event time.
struct Tick {
    price: f64,
    ts_event: u64,
}

impl TsEvent for Tick {
    fn ts_event(&self) -> u64 {
        self.ts_event
    }
}

fn tick(i: u64, lane: u64) -> Tick {
    // Exact in binary, different per thread and per call.
    Tick { price: (i % 1000) as f64 * 0.25 + lane as f64, ts_event: T0 as u64 + i }
}

/// EMA over every input, as the SDKs define it (Nautilus's): alpha = 2 / (n + 1), the first input
/// seeds it, then `v = alpha * x + (1 - alpha) * v` for every input; `None` before the `n`th.
fn ema(inputs: &[f64], n: usize) -> Vec<Option<f64>> {
    let alpha = 2.0 / (n as f64 + 1.0);
    let mut v = inputs.first().copied().unwrap_or(0.0);
    inputs
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            v = alpha * x + (1.0 - alpha) * v;
            (i + 1 >= n).then_some(v)
        })
        .collect()
}

macro_rules! four_sites {
    ($($name:ident),*) => {$(
        #[chart(ema = 3, raw = true)]
        fn $name(tick: &Tick) -> f64 {
            tick.price
        }
    )*};
}

four_sites!(lane0, lane1, lane2, lane3);

#[test]
fn a_million_calls_on_four_threads_all_arrive_exact() {
    const CALLS: u64 = 250_000;
    let _turn = global_run_lock();
    let redis = RedisServer::start();
    let run = chartbridge::start(redis.config("Tight", "tight")).unwrap();
    let sites: [fn(&Tick) -> f64; 4] = [lane0, lane1, lane2, lane3];
    std::thread::scope(|scope| {
        for (lane, site) in sites.into_iter().enumerate() {
            scope.spawn(move || {
                for i in 0..CALLS {
                    site(&tick(i, lane as u64));
                }
            });
        }
    });
    assert!(run.flush(Duration::from_secs(120)));
    let stats = run.stats();
    assert_eq!((stats.written, stats.dropped, stats.refused), (4 * CALLS * 2 - 4 * 2, 0, 0));
    for lane in 0..4u64 {
        let inputs: Vec<f64> = (0..CALLS).map(|i| tick(i, lane).price).collect();
        let times: Vec<i64> = (0..CALLS as i64).map(|i| T0 + i).collect();
        let (t, y) = line_points(&redis, &format!("cbtest:{{tight}}:s:lane{lane}"));
        assert_eq!(t, times, "lane{lane} times");
        assert_eq!(y, inputs, "lane{lane} values");
        let (t, y) = line_points(&redis, &format!("cbtest:{{tight}}:s:lane{lane}.ema3"));
        assert_eq!(t, times[2..], "lane{lane}.ema3 times");
        assert_eq!(y, ema(&inputs, 3).into_iter().flatten().collect::<Vec<_>>(), "lane{lane}.ema3 values");
        let per_series = &stats.series[&format!("lane{lane}")];
        assert_eq!((per_series.written, per_series.dropped, per_series.refused), (CALLS, 0, 0));
        assert_eq!(stats.series[&format!("lane{lane}.ema3")].written, CALLS - 2);
    }
    assert!(redis.hash("cbtest:{tight}:lost").is_empty(), "nothing lost, no lost record");
}

#[test]
fn a_3_s_redis_hang_at_100k_calls_per_s_loses_nothing_within_the_backlog_bound() {
    let redis = RedisServer::start();
    let run = Publisher::start(redis.config("Hang", "hang")).unwrap();
    let series = run.series(SeriesSpec::new("x", Kind::Line)).unwrap();
    let (per_ms, millis) = (100i64, 5_000i64);
    let start = Instant::now();
    for ms in 0..millis {
        if ms == 1_000 {
            redis.signal("STOP");
        }
        if ms == 4_000 {
            redis.signal("CONT");
        }
        for j in 0..per_ms {
            let i = ms * per_ms + j;
            series.add_at(T0 + i, chartbridge::Point::Value(i as f64)).unwrap();
        }
        // 100 calls per ms: 100k calls/s, 300k of them while Redis is frozen.
        let due = start + Duration::from_millis(ms as u64 + 1);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    assert!(run.flush(Duration::from_secs(60)), "the backlog is written once Redis answers again");
    let total = per_ms * millis;
    let (t, y) = line_points(&redis, "cbtest:{hang}:s:x");
    assert_eq!(t, (0..total).map(|i| T0 + i).collect::<Vec<_>>());
    assert_eq!(y, (0..total).map(|i| i as f64).collect::<Vec<_>>());
    let stats = run.stats();
    assert_eq!((stats.written, stats.dropped), (total as u64, 0));
    assert!(redis.hash("cbtest:{hang}:lost").is_empty());
}

#[chart(ema = 5, raw = true)]
fn quote(tick: &Tick) -> f64 {
    tick.price
}

#[test]
fn redis_killed_and_restarted_empty_gets_the_newest_points_and_the_loss_record() {
    const BEFORE: u64 = 1_000;
    const DURING: u64 = 60_000;
    let _turn = global_run_lock();
    let mut redis = RedisServer::start();
    let mut config = redis.config("Restart", "restart");
    config.max_backlog = 20_000;
    let run = chartbridge::start(config).unwrap();
    for i in 0..BEFORE {
        quote(&tick(i, 0));
    }
    assert!(run.flush(Duration::from_secs(10)));
    redis.kill();
    for i in BEFORE..BEFORE + DURING {
        quote(&tick(i, 0));
        if i % 1_000 == 0 {
            // Entries of about 1,000 points, so the bound cuts between small batches.
            std::thread::sleep(Duration::from_millis(3));
        }
    }
    std::thread::sleep(Duration::from_millis(50));
    redis.restart();
    assert!(run.flush(Duration::from_secs(30)));

    let inputs: Vec<f64> = (0..BEFORE + DURING).map(|i| tick(i, 0).price).collect();
    let expected_ema = ema(&inputs, 5);
    let (t, y) = line_points(&redis, "cbtest:{restart}:s:quote");
    let kept = t.len() as u64;
    // The newest points, contiguous, up to the bound (two series share it: 10,000 calls each).
    assert!((5_000..=10_000).contains(&kept), "kept {kept} points of quote");
    let first = (t[0] - T0) as u64;
    assert_eq!(first + kept, BEFORE + DURING, "what is kept ends with the last call");
    assert_eq!(t, (first..BEFORE + DURING).map(|i| T0 + i as i64).collect::<Vec<_>>());
    assert_eq!(y, inputs[first as usize..]);
    // Every delivered EMA is the EMA over every input, the dropped ones included.
    let (t, y) = line_points(&redis, "cbtest:{restart}:s:quote.ema5");
    assert!(!t.is_empty());
    for (t, y) in t.iter().zip(&y) {
        let i = (t - T0) as usize;
        assert_eq!(Some(*y), expected_ema[i], "quote.ema5 at call {i}");
    }

    let stats = run.stats();
    let quote_stats = stats.series["quote"];
    assert_eq!(quote_stats.written, BEFORE + kept);
    assert_eq!(quote_stats.dropped, DURING - kept, "every point not kept is counted");
    let ema_stats = stats.series["quote.ema5"];
    assert_eq!(ema_stats.written + ema_stats.dropped, BEFORE + DURING - 4);
    let lost = redis.hash("cbtest:{restart}:lost");
    assert_eq!(lost["quote"], quote_stats.dropped.to_string());
    assert_eq!(lost["quote.ema5"], ema_stats.dropped.to_string());
    assert_eq!(redis.hash("cbtest:{restart}:manifest")["status"], "running");
    let registry = redis.hash("cbtest:{restart}:series");
    assert!(registry.contains_key("quote") && registry.contains_key("quote.ema5"));
}

#[test]
fn a_backtest_thread_waits_for_the_worker_instead_of_dropping() {
    let redis = RedisServer::start();
    let mut config = redis.config("Backtest", "backtest");
    config.queue = 256; // far less than the loop queues between two worker passes
    let run = Publisher::start(config).unwrap();
    let series = run.series(SeriesSpec::new("x", Kind::Line)).unwrap();
    assert!(run.flush(Duration::from_secs(10)), "connected");
    let total = 200_000i64;
    for i in 0..total {
        chartbridge::set_clock(T0 + i); // simulated time: this thread may wait
        series.value(i as f64).unwrap();
    }
    chartbridge::clear_clock();
    assert!(run.flush(Duration::from_secs(60)));
    let (t, y) = line_points(&redis, "cbtest:{backtest}:s:x");
    assert_eq!(t, (0..total).map(|i| T0 + i).collect::<Vec<_>>());
    assert_eq!(y, (0..total).map(|i| i as f64).collect::<Vec<_>>());
    assert_eq!((run.stats().written, run.stats().dropped), (total as u64, 0));
}

#[test]
fn a_live_thread_with_a_full_queue_drops_and_counts_per_series() {
    let redis = RedisServer::start();
    let mut config = redis.config("Live", "live");
    // 256 calls take microseconds; the worker passes every 2 ms: this queue overflows.
    config.queue = 256;
    let run = Publisher::start(config).unwrap();
    let series = run.series(SeriesSpec::new("x", Kind::Line)).unwrap();
    let total = 100_000u64;
    let started = Instant::now();
    for i in 0..total {
        series.add_at(T0 + i as i64, chartbridge::Point::Value(i as f64)).unwrap();
    }
    let elapsed = started.elapsed();
    assert!(run.flush(Duration::from_secs(30)));
    let stats = run.stats();
    let (t, _) = line_points(&redis, "cbtest:{live}:s:x");
    assert!(stats.dropped > 0, "a live thread never waited ({elapsed:?} for {total} calls)");
    assert_eq!(stats.written, t.len() as u64);
    assert_eq!(stats.written + stats.dropped, total, "every call is stored or counted");
    assert_eq!(stats.series["x"].dropped, stats.dropped);
    assert_eq!(redis.hash("cbtest:{live}:lost")["x"], stats.dropped.to_string());
}

#[test]
fn a_full_redis_is_an_outage_the_oldest_beyond_the_bound_go_and_the_newest_arrive_once_memory_is_freed() {
    const BEFORE: u64 = 100_000;
    const TOTAL: u64 = 400_000;
    let redis = RedisServer::start_with(&["--maxmemory-policy", "noeviction"].map(String::from));
    let mut config = redis.config("Full", "full");
    config.max_backlog = 20_000;
    let run = Publisher::start(config).unwrap();
    let series = run.series(SeriesSpec::new("price", Kind::Line)).unwrap();
    let add = |from: u64, to: u64| {
        for i in from..to {
            series.add_at(T0 + i as i64 * 1_000, chartbridge::Point::Value(i as f64 * 0.5)).unwrap();
            if i % 10_000 == 0 {
                run.flush(Duration::from_millis(10));
            }
        }
    };
    add(0, BEFORE);
    assert!(run.flush(Duration::from_secs(10)));
    // Redis is full, well past its maxmemory (not at the edge, where it takes some writes and
    // refuses others as its memory moves): every write is refused with OOM from here on.
    redis.raw(redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg("1mb"));
    add(BEFORE, TOTAL);
    // Refused with OOM: held (within the bound), not dropped as if Redis had rejected the data.
    assert!(!run.flush(Duration::from_millis(500)), "Redis is full: not everything can be stored");
    assert!(run.stats().dropped > 0);
    redis.raw(redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg("0")); // memory freed (gc, or a bigger maxmemory)
    assert!(run.flush(Duration::from_secs(30)));

    let stats = run.stats();
    let (t, y) = line_points(&redis, "cbtest:{full}:s:price");
    let stored: Vec<u64> = t.iter().map(|t| ((t - T0) / 1_000) as u64).collect();
    // Everything stored is exact, in order, once: what came before, then the newest points the
    // backlog held, sent once memory was freed; the one stretch between is counted and recorded.
    assert_eq!(y, stored.iter().map(|&i| i as f64 * 0.5).collect::<Vec<_>>());
    let kept = stored.len() as u64 - BEFORE;
    assert!((10_000..=20_000).contains(&kept), "the backlog kept the newest {kept} points");
    let expected: Vec<u64> = (0..BEFORE).chain(TOTAL - kept..TOTAL).collect();
    assert_eq!(stored, expected);
    assert_eq!(stats.dropped, TOTAL - BEFORE - kept);
    assert_eq!(stats.series["price"].dropped, stats.dropped);
    assert_eq!(redis.hash("cbtest:{full}:lost")["price"], stats.dropped.to_string());
}

#[test]
fn entries_redis_acknowledged_and_then_lost_are_found_after_the_outage_counted_and_recorded() {
    let redis = RedisServer::start();
    let run = Publisher::start(redis.config("Tail", "tail")).unwrap();
    let series = run.series(SeriesSpec::new("price", Kind::Line)).unwrap();
    let add = |from: u64, to: u64| (from..to).for_each(|i| series.add_at(T0 + i as i64, chartbridge::Point::Value(i as f64 * 0.25)).unwrap());
    for part in 0..30 {
        add(part * 100, part * 100 + 100);
        assert!(run.flush(Duration::from_secs(10)));
    }
    // A failover to a replica the last entries had not reached, played on one Redis (no cluster
    // needed to make it certain): Redis acknowledged them, now lacks them, and the connection breaks.
    let key = "cbtest:{tail}:s:price";
    let entries = redis.stream(key);
    let tail = &entries[entries.len() - 3..];
    let field = |fields: &[(String, Vec<u8>)], name: &str| fields.iter().find(|(f, _)| f == name).map(|(_, v)| v.clone()).unwrap();
    let lost_times: Vec<i64> = tail.iter().flat_map(|(_, fields)| support::i64s(&field(fields, "t"))).collect();
    redis.raw(redis::cmd("XDEL").arg(key).arg(tail.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>()));
    redis.raw(redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("normal"));
    add(3_000, 3_100);
    assert!(run.flush(Duration::from_secs(30)));

    let lost = lost_times.len() as u64;
    let stats = run.stats();
    assert_eq!((stats.series["price"].dropped, stats.series["price"].written), (lost, 3_100 - lost));
    assert_eq!(redis.hash("cbtest:{tail}:lost")["price"], lost.to_string());
    let (t, y) = line_points(&redis, key);
    let expected: Vec<i64> = (0..3_100).map(|i| T0 + i).filter(|t| !lost_times.contains(t)).collect();
    assert_eq!(t, expected, "everything else arrived, once, in order");
    assert_eq!(y, expected.iter().map(|t| (t - T0) as f64 * 0.25).collect::<Vec<_>>());
}
