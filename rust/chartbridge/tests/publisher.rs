//! The publisher against a private redis-server: the exact keys and fields of SPEC sections 2, 3,
//! 5 and 6 (what the Python SDK writes for the same calls), outages, and refusals.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chartbridge::wire::{Batch, Columns};
use chartbridge::{Candle, Code, Kind, Marker, MarkerShape, Point, Publisher, SeriesSpec, Side};
use serde_json::{Value, json};
use support::{RedisServer, f64s, i64s};

const T0: i64 = 1_700_000_000_000_000_000;
const MINUTE: i64 = 60_000_000_000;

fn decode(fields: &[(String, Vec<u8>)], kind: Kind) -> Batch {
    let map: HashMap<String, Vec<u8>> = fields.iter().cloned().collect();
    Batch::decode(&map, Some(kind)).expect("a valid entry")
}

fn field_names(fields: &[(String, Vec<u8>)]) -> Vec<&str> {
    fields.iter().map(|(k, _)| k.as_str()).collect()
}

#[test]
fn a_run_writes_exactly_the_keys_and_fields_of_the_spec() {
    let redis = RedisServer::start();
    let mut config = redis.config("EMACross", "r1");
    config.source = "/work/strategy.rs".to_owned();
    let before_ms = chartbridge::clock::wall_clock() / 1_000_000;
    let run = Publisher::start(config).unwrap();

    let bars = run.series(SeriesSpec::new("EMACross.on_bar", Kind::Candlestick).source("/work/strategy.rs", 12)).unwrap();
    let fast = run
        .series(SeriesSpec::new("EMACross.fast", Kind::Line).color("#2962ff").title("fast").options(json!({"lineWidth": 2})))
        .unwrap();
    let fills = run.series(SeriesSpec::new("fills", Kind::Marker).target("EMACross.on_bar")).unwrap();
    bars.add_at(T0, Point::Candle(Candle { open: 1.0, high: 2.0, low: 0.5, close: 1.5, volume: Some(10.0) })).unwrap();
    bars.add_at(T0 + MINUTE, Point::Candle(Candle { open: 1.5, high: 1.6, low: 1.4, close: 1.45, volume: Some(3.0) })).unwrap();
    fast.add_at(T0, Point::Value(1.25)).unwrap();
    fast.add_at(T0 + MINUTE, Point::Value(1.3)).unwrap();
    assert!(run.flush(Duration::from_secs(5)));
    let exit = Marker { shape: Some(MarkerShape::ArrowDown), color: Some("#ef5350".into()), ..Marker::new(Some(Side::Sell), "exit é") };
    fills.add_at(T0 + MINUTE, Point::Marker(f64::NAN, exit.clone())).unwrap();
    assert!(run.flush(Duration::from_secs(5)));
    run.plugin("bollinger", true, json!({"period": 20})).unwrap();
    run.publish("signals", json!({"z": 1.5})).unwrap();
    let results = json!({"stats": {"pnl": 12.5, "trades": 1}, "trades": [{"entry_t": T0.to_string(), "exit_t": (T0 + MINUTE).to_string(), "side": "buy", "entry_price": 1.0, "exit_price": 1.45, "pnl": 0.45}]});
    run.results(results.clone()).unwrap();
    run.close();
    let after_ms = chartbridge::clock::wall_clock() / 1_000_000;
    assert_eq!(run.stats().written, 5);
    assert_eq!((run.stats().dropped, run.stats().refused), (0, 0));

    let tag = "cbtest:{r1}";
    let mut expected_keys: Vec<String> = ["cbtest:runlog", "cbtest:runs"].map(String::from).to_vec();
    for suffix in ["events", "manifest", "plugins", "results", "s:EMACross.fast", "s:EMACross.on_bar", "s:fills", "series"] {
        expected_keys.push(format!("{tag}:{suffix}"));
    }
    expected_keys.sort();
    assert_eq!(redis.keys(), expected_keys);

    // Section 5: the manifest.
    let manifest = redis.hash(&format!("{tag}:manifest"));
    let mut names: Vec<&str> = manifest.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["ended", "heartbeat", "identity", "language", "run", "source", "started", "status", "strategy", "v"]);
    assert_eq!(
        [&manifest["v"], &manifest["run"], &manifest["strategy"], &manifest["source"], &manifest["language"], &manifest["status"]],
        ["1", "r1", "EMACross", "/work/strategy.rs", "rust", "ended"]
    );
    let started: i64 = manifest["started"].parse().unwrap();
    let ended: i64 = manifest["ended"].parse().unwrap();
    assert!(before_ms * 1_000_000 <= started && started <= ended && ended <= (after_ms + 1) * 1_000_000);

    // Section 2: the runs index and the runlog.
    let runs: Vec<(String, i64)> = redis::cmd("ZRANGE").arg("cbtest:runs").arg(0).arg(-1).arg("WITHSCORES").query(&mut redis.connect()).unwrap();
    assert_eq!(runs, [("r1".to_owned(), started / 1_000_000)]);
    let runlog: Vec<Vec<(String, Vec<u8>)>> = redis.stream("cbtest:runlog").into_iter().map(|(_, f)| f).collect();
    let log = |kind: &str| vec![("run".to_owned(), b"r1".to_vec()), ("type".to_owned(), kind.as_bytes().to_vec())];
    assert_eq!(runlog, [log("start"), log("end")]);

    // Section 5: the series registry.
    let registry: HashMap<String, Value> =
        redis.hash(&format!("{tag}:series")).into_iter().map(|(k, v)| (k, serde_json::from_str(&v).unwrap())).collect();
    assert_eq!(registry.len(), 3);
    assert_eq!(
        registry["EMACross.on_bar"],
        json!({"kind": "candlestick", "pane": "main", "title": "EMACross.on_bar", "options": {}, "source": {"file": "/work/strategy.rs", "line": 12}})
    );
    assert_eq!(
        registry["EMACross.fast"],
        json!({"kind": "line", "pane": "main", "title": "fast", "color": "#2962ff", "options": {"lineWidth": 2}, "source": null})
    );
    assert_eq!(
        registry["fills"],
        json!({"kind": "marker", "pane": "main", "title": "fills", "options": {}, "source": null, "target": "EMACross.on_bar"})
    );

    // Section 3: one entry per series per flush, binary columns exact.
    let bar_entries = redis.stream(&format!("{tag}:s:EMACross.on_bar"));
    assert_eq!(bar_entries.len(), 1);
    let fields = &bar_entries[0].1;
    assert_eq!(field_names(fields), ["v", "k", "n", "t", "o", "h", "l", "c", "vol"]);
    assert_eq!(i64s(&fields[3].1), [T0, T0 + MINUTE]);
    assert_eq!(f64s(&fields[4].1), [1.0, 1.5]);
    assert_eq!(f64s(&fields[8].1), [10.0, 3.0]);
    let fast_entries = redis.stream(&format!("{tag}:s:EMACross.fast"));
    assert_eq!(decode(&fast_entries[0].1, Kind::Line), Batch { kind: Kind::Line, t: vec![T0, T0 + MINUTE], columns: Columns::Values { y: vec![1.25, 1.3] } });
    let fill_entries = redis.stream(&format!("{tag}:s:fills"));
    let fill_fields = &fill_entries[0].1;
    assert_eq!(field_names(fill_fields), ["v", "k", "n", "t", "y", "m"]);
    assert_eq!(fill_fields[4].1, 0x7ff8_0000_0000_0000u64.to_le_bytes(), "the quiet NaN of SPEC section 3");
    assert_eq!(
        String::from_utf8(fill_fields[5].1.clone()).unwrap(),
        r##"[{"side":"sell","text":"exit é","shape":"arrowDown","color":"#ef5350"}]"##
    );

    // Section 6: events, plugins, results.
    let events = redis.events(&format!("{tag}:events"));
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["series", "series", "series", "plugin", "publish", "results", "end"]);
    let mut announced: Vec<&str> = events[..3].iter().map(|(_, d)| d["id"].as_str().unwrap()).collect();
    announced.sort();
    assert_eq!(announced, ["EMACross.fast", "EMACross.on_bar", "fills"]);
    assert_eq!(events[3].1, json!({"name": "bollinger", "enabled": true, "params": {"period": 20}}));
    assert_eq!(events[4].1, json!({"topic": "signals", "payload": {"z": 1.5}}));
    assert_eq!((&events[5].1, &events[6].1), (&json!({}), &json!({})));
    let plugins = redis.hash(&format!("{tag}:plugins"));
    assert_eq!(serde_json::from_str::<Value>(&plugins["bollinger"]).unwrap(), json!({"enabled": true, "params": {"period": 20}}));
    let stored: String = redis::cmd("GET").arg(format!("{tag}:results")).query(&mut redis.connect()).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&stored).unwrap(), results);
}

fn line_times(redis: &RedisServer, key: &str) -> Vec<i64> {
    redis.stream(key).iter().flat_map(|(_, fields)| decode(fields, Kind::Line).t).collect()
}

#[test]
fn a_redis_restart_delivers_the_backlog_once_and_the_run_state_again() {
    let mut redis = RedisServer::start();
    let run = Publisher::start(redis.config("Outage", "outage")).unwrap();
    let series = run.series(SeriesSpec::new("x", Kind::Line)).unwrap();
    for i in 0..100 {
        series.add_at(T0 + i, Point::Value(i as f64)).unwrap();
    }
    assert!(run.flush(Duration::from_secs(5)));
    redis.kill();

    let started = Instant::now();
    for i in 100..200 {
        series.add_at(T0 + i, Point::Value(i as f64)).unwrap();
    }
    assert!(started.elapsed() < Duration::from_millis(100), "adding while Redis is down took {:?}", started.elapsed());
    assert!(!run.flush(Duration::from_millis(200)), "nothing can be flushed while Redis is down");
    assert!(!run.stats().connected);

    redis.restart();
    assert!(run.flush(Duration::from_secs(10)), "the backlog is written once Redis is back");
    // The restarted Redis has no persistence: it holds exactly what was backlogged, once.
    assert_eq!(line_times(&redis, "cbtest:{outage}:s:x"), (100..200).map(|i| T0 + i).collect::<Vec<_>>());
    assert_eq!(redis.hash("cbtest:{outage}:manifest")["status"], "running");
    assert!(redis.hash("cbtest:{outage}:series").contains_key("x"));
    let events = redis.events("cbtest:{outage}:events");
    assert_eq!(events, [("series".to_owned(), json!({"id": "x"}))]);
    assert_eq!((run.stats().written, run.stats().dropped), (200, 0));
}

#[test]
fn a_write_that_landed_but_timed_out_is_not_written_twice() {
    let redis = RedisServer::start();
    let run = Publisher::start(redis.config("Stalled", "stalled")).unwrap();
    let series = run.series(SeriesSpec::new("x", Kind::Line)).unwrap();
    series.add_at(T0, Point::Value(0.0)).unwrap();
    assert!(run.flush(Duration::from_secs(5)));
    // Redis stalls longer than the producer's 2 s I/O timeout, then runs what is in its socket
    // buffer: the producer sees a failed write whose entries did land, and must not resend them.
    let mut admin = redis.connect();
    let stall = std::thread::spawn(move || redis::cmd("DEBUG").arg("SLEEP").arg(3).query::<()>(&mut admin));
    std::thread::sleep(Duration::from_millis(200));
    for i in 1..50 {
        series.add_at(T0 + i, Point::Value(i as f64)).unwrap();
    }
    assert!(run.flush(Duration::from_secs(10)));
    stall.join().unwrap().unwrap();
    assert_eq!(line_times(&redis, "cbtest:{stalled}:s:x"), (0..50).map(|i| T0 + i).collect::<Vec<_>>());
    // Found already written on reconnect, not refused by Redis as duplicate IDs.
    assert_eq!((run.stats().written, run.stats().dropped), (50, 0));
}

#[test]
fn an_unreachable_redis_never_blocks_and_every_lost_point_is_counted() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = chartbridge::Config::new("Nowhere");
    config.url = format!("redis://127.0.0.1:{port}");
    config.max_backlog = 1_000;
    config.close_timeout = Duration::from_millis(100);
    let run = Publisher::start(config).unwrap();
    let series = run.series(SeriesSpec::new("x", Kind::Line)).unwrap();
    let started = Instant::now();
    for i in 0..10_000 {
        series.add_at(T0 + i, Point::Value(1.0)).unwrap();
    }
    assert!(started.elapsed() < Duration::from_millis(200), "10k adds took {:?}", started.elapsed());
    run.close();
    let stats = run.stats();
    assert_eq!((stats.written, stats.dropped, stats.refused), (0, 10_000, 0));
}

#[test]
fn bad_values_are_refused_and_nothing_invalid_is_written() {
    let redis = RedisServer::start();
    let run = Publisher::start(redis.config("Bad", "bad")).unwrap();
    let line = run.series(SeriesSpec::new("line", Kind::Line)).unwrap();
    let candles = run.series(SeriesSpec::new("candles", Kind::Candlestick)).unwrap();
    assert_eq!(run.series(SeriesSpec::new("bad{id}", Kind::Line)).err(), Some(Code::Name));
    assert_eq!(run.plugin("../evil", true, json!({})).err(), Some(Code::Name));
    assert_eq!(line.add_at(T0, Point::Value(f64::NAN)), Err(Code::NonFinite));
    assert_eq!(line.add_at(-1, Point::Value(1.0)), Err(Code::Time));
    assert_eq!(line.add_at(T0, Point::Candle(Candle { open: 1.0, high: 1.0, low: 1.0, close: 1.0, volume: None })), Err(Code::KindMismatch));
    let inverted = Candle { open: 1.0, high: 0.5, low: 0.9, close: 1.0, volume: None };
    assert_eq!(candles.add_at(T0, Point::Candle(inverted)), Err(Code::Candle));
    line.add_at(T0 + 10, Point::Value(1.0)).unwrap();
    line.add_at(T0 + 5, Point::Value(2.0)).unwrap(); // backwards: refused by the worker
    line.add_at(T0 + 10, Point::Value(3.0)).unwrap(); // equal time: allowed, replaces on read
    assert!(run.flush(Duration::from_secs(5)));
    assert_eq!(run.stats().refused, 1);
    assert_eq!(line_times(&redis, "cbtest:{bad}:s:line"), [T0 + 10, T0 + 10]);
    assert!(redis.stream("cbtest:{bad}:s:candles").is_empty());
}

/// Markers are events (SPEC section 3): partial fills at one time, in one flush or across flushes, are all written, in order.
#[test]
fn markers_at_one_time_are_all_written_in_order() {
    let redis = RedisServer::start();
    let run = Publisher::start(redis.config("Fills", "fills")).unwrap();
    let fills = run.series(SeriesSpec::new("fills", Kind::Marker).target("bars")).unwrap();
    let part = |text: &str| Marker::new(Some(Side::Buy), text);
    fills.add_at(T0, Point::Marker(1.1005, part("BUY 100 @ 1.1005"))).unwrap();
    fills.add_at(T0, Point::Marker(1.1005, part("BUY 100 @ 1.1005"))).unwrap();
    assert!(run.flush(Duration::from_secs(5)));
    fills.add_at(T0, Point::Marker(1.1007, part("BUY 50 @ 1.1007"))).unwrap();
    fills.add_at(T0 + MINUTE, Point::Marker(1.1012, Marker::new(Some(Side::Sell), "SELL 250 @ 1.1012"))).unwrap();
    assert!(run.flush(Duration::from_secs(5)));
    run.close();
    assert_eq!((run.stats().written, run.stats().refused, run.stats().dropped), (4, 0, 0));
    let entries: Vec<Batch> = redis.stream("cbtest:{fills}:s:fills").iter().map(|(_, f)| decode(f, Kind::Marker)).collect();
    assert_eq!(entries.len(), 2);
    let sell = Marker::new(Some(Side::Sell), "SELL 250 @ 1.1012");
    assert_eq!(
        entries,
        [
            Batch { kind: Kind::Marker, t: vec![T0, T0], columns: Columns::Markers { y: vec![1.1005, 1.1005], m: vec![part("BUY 100 @ 1.1005"), part("BUY 100 @ 1.1005")] } },
            Batch { kind: Kind::Marker, t: vec![T0, T0 + MINUTE], columns: Columns::Markers { y: vec![1.1007, 1.1012], m: vec![part("BUY 50 @ 1.1007"), sell] } },
        ]
    );
}

#[test]
fn a_batch_over_the_entry_limit_is_split() {
    let redis = RedisServer::start();
    let mut config = redis.config("Big", "big");
    config.queue = 200_000; // the test adds faster than a debug-built worker drains
    let run = Publisher::start(config).unwrap();
    let series = run.series(SeriesSpec::new("x", Kind::Line)).unwrap();
    let total = 150_001;
    for i in 0..total {
        series.add_at(T0 + i, Point::Value(0.5)).unwrap();
    }
    assert!(run.flush(Duration::from_secs(30)));
    let counts: Vec<usize> = redis.stream("cbtest:{big}:s:x").iter().map(|(_, f)| decode(f, Kind::Line).t.len()).collect();
    assert!(counts.iter().all(|&n| n <= 100_000), "{counts:?}");
    assert_eq!(counts.iter().sum::<usize>(), total as usize);
}

/// Runs `script` in sh in the crate's folder: what git itself says, to compare the identity with.
fn sh(script: &str) -> String {
    let out = std::process::Command::new("sh").arg("-c").arg(script).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_manifest_holds_the_runs_identity_params_git_state_and_version() {
    let redis = RedisServer::start();
    let mut config = redis.config("EMACross", "ident");
    config.source = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/publisher.rs").to_owned();
    config.params = json!({"fast": 10, "slow": 20}).as_object().unwrap().clone();
    let run = Publisher::start(config).unwrap();
    run.close();
    let identity: Value = serde_json::from_str(&redis.hash("cbtest:{ident}:manifest")["identity"]).unwrap();
    let diff_hash = sh("git diff HEAD --binary | sha256sum | cut -d' ' -f1");
    let dirty = !sh("git diff HEAD --binary | head -c1").is_empty();
    assert_eq!(
        identity,
        json!({
            "params": {"fast": 10, "slow": 20},
            "git": {"root": sh("git rev-parse --show-toplevel"), "commit": sh("git rev-parse HEAD"), "dirty": dirty,
                    "diff_hash": if dirty { Value::String(diff_hash) } else { Value::Null }},
            "data": [],
            "versions": {"chartbridge": env!("CARGO_PKG_VERSION")},
        })
    );
}

#[test]
fn a_dirty_run_saves_its_uncommitted_diff_in_its_dirty_key() {
    let repo = std::env::temp_dir().join(format!("chartbridge-rust-dirty-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&repo);
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git").arg("-C").arg(&repo).args(["-c", "user.name=t", "-c", "user.email=t@t"]).args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    git(&["init", "-q"]);
    let strategy = repo.join("strategy.rs");
    std::fs::write(&strategy, "const FAST: u32 = 10;\n").unwrap();
    git(&["add", "strategy.rs"]);
    git(&["commit", "-q", "-m", "fast 10"]);
    let redis = RedisServer::start();
    let start = |run: &str| {
        let mut config = redis.config("EMACross", run);
        config.source = strategy.to_string_lossy().into_owned();
        Publisher::start(config).unwrap().close();
    };
    start("clean");
    // Not UTF-8 (Latin-1 é): the key holds the diff's bytes as they are.
    std::fs::write(&strategy, b"const FAST: u32 = 12; // caf\xe9\n").unwrap();
    start("dirty");
    let diff = git(&["diff", "HEAD", "--binary"]);
    let get = |key: &str| match redis.raw(redis::cmd("GET").arg(key)) {
        redis::Value::BulkString(bytes) => Some(bytes),
        _ => None,
    };
    assert_eq!(get("cbtest:{clean}:dirty"), None);
    assert_eq!(get("cbtest:{dirty}:dirty"), Some(diff));
    std::fs::remove_dir_all(&repo).unwrap();
}

#[test]
fn params_over_64_kib_are_refused_before_anything_is_written() {
    let redis = RedisServer::start();
    let mut config = redis.config("EMACross", "big");
    config.params = json!({"blob": "x".repeat(70_000)}).as_object().unwrap().clone();
    assert_eq!(Publisher::start(config).err(), Some(Code::Limit));
    assert!(redis.keys().is_empty());
}
