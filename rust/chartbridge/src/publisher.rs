//! The caller's side of the producer: configuration, series handles and run-level writes. Every
//! call only validates and hands a message to the background worker (`worker.rs`) through the
//! calling thread's lane (`lane.rs`). A full lane makes a backtest thread wait for the worker
//! (its clock is simulated) and a live thread drop and count, so a live strategy never waits.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value as Json, json};

use crate::clock;
use crate::keys::Keys;
use crate::lane::Lanes;
use crate::link::Tls;
use crate::names;
use crate::site::SiteSpec;
use crate::wire::{Candle, Code, Kind, Marker, Point};
use crate::worker::{self, Control, Msg, Write};

/// Largest registry JSON of one series (SPEC section 3, limits).
const MAX_REGISTRY_JSON: usize = 65_536;
/// Largest `publish` payload JSON.
const MAX_PUBLISH_JSON: usize = 1 << 20;
/// How long a backtest thread sleeps between looks at its full lane.
const BACKPRESSURE_NAP: Duration = Duration::from_micros(200);

/// Where and how a run is published. `Config::new` reads `CHARTBRIDGE_REDIS_URL`,
/// `CHARTBRIDGE_REDIS_CA`, `CHARTBRIDGE_REDIS_CERT`, `CHARTBRIDGE_REDIS_KEY`,
/// `CHARTBRIDGE_PREFIX` and `CHARTBRIDGE_RUN` from the environment for its defaults.
#[derive(Clone, Debug)]
pub struct Config {
    /// `redis://[user:password@]host:port[/db]`, or `rediss://...` for TLS.
    pub url: String,
    /// TLS files for a `rediss://` URL: a CA certificate (PEM) to trust instead of the system's,
    /// and a client certificate and key (PEM) for mutual TLS. Paths; unset: none.
    pub tls: Tls,
    pub prefix: String,
    pub run: String,
    pub strategy: String,
    /// Absolute path of the file that started the run; may be empty.
    pub source: String,
    /// How often the worker writes what is buffered (one entry per series per flush).
    pub flush_interval: Duration,
    /// Points kept while Redis is unreachable (down or not answering), over all series. Beyond
    /// it the oldest point entries are dropped, counted per series in [`Stats`] and in the run's
    /// `lost` record (protocol/SPEC.md, "Outages and loss"). Default 1,000,000.
    pub max_backlog: usize,
    /// Point calls one thread may have waiting for the worker. A full queue makes a thread with
    /// an integration clock (`set_clock`: a backtest) wait while Redis is reachable, and drops
    /// the call otherwise (counted like any loss). Default 1,000,000: the same as `max_backlog`,
    /// so a queue cannot fill before the backlog bound is reached, even while the worker waits
    /// out its I/O timeout on a hung Redis. A queued point takes 88 bytes (memory is only used
    /// while the writer is behind).
    pub queue: usize,
    /// How long closing the run may wait for the last writes.
    pub close_timeout: Duration,
    /// The strategy's parameters, recorded in the run's identity and compared between runs
    /// (protocol/SPEC.md section 5): at most 64 KiB as JSON (else `start` refuses it with
    /// `E_LIMIT`). Default empty.
    pub params: serde_json::Map<String, Json>,
}

impl Config {
    pub fn new(strategy: &str) -> Config {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let started_ms = clock::wall_clock() / 1_000_000;
        Config {
            url: env("CHARTBRIDGE_REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned()),
            tls: Tls { ca: env("CHARTBRIDGE_REDIS_CA"), cert: env("CHARTBRIDGE_REDIS_CERT"), key: env("CHARTBRIDGE_REDIS_KEY") },
            prefix: env("CHARTBRIDGE_PREFIX").unwrap_or_else(|| "chartbridge".to_owned()),
            run: env("CHARTBRIDGE_RUN").unwrap_or_else(|| format!("{}-{started_ms}-{}", names::run_id_stem(strategy), std::process::id())),
            strategy: strategy.to_owned(),
            source: String::new(),
            flush_interval: Duration::from_millis(5),
            max_backlog: 1_000_000,
            queue: 1_000_000,
            close_timeout: Duration::from_secs(5),
            params: serde_json::Map::new(),
        }
    }
}

/// Counters of a publisher, in points, for tests, benchmarks and a strategy's own logging.
/// Every point charted ends up in exactly one of `written`, `dropped` and `refused` (or is still
/// queued); `series` has the same counts per series id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Points acknowledged by Redis.
    pub written: u64,
    /// Points lost: beyond the backlog bound during an outage, a full queue of a live thread,
    /// refused by Redis, or still unwritten when the run closed.
    pub dropped: u64,
    /// Points refused by the wire rules (non-finite, bad candle, time going backwards, ...).
    pub refused: u64,
    pub connected: bool,
    /// The same counts per series id (updated by the worker once per flush).
    pub series: BTreeMap<String, SeriesStats>,
}

/// Points of one series, as in [`Stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeriesStats {
    pub written: u64,
    pub dropped: u64,
    pub refused: u64,
}

/// State shared by the caller side and the worker.
pub(crate) struct Shared {
    pub(crate) lanes: Lanes,
    control: SyncSender<Control>,
    pub(crate) written: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) connected: AtomicBool,
    pub(crate) series: Mutex<BTreeMap<String, SeriesStats>>,
    next_series: AtomicU32,
    full_warned: AtomicBool,
}

impl Shared {
    /// Queues a message. A full lane: a thread running simulated time (an integration clock is
    /// set) waits while Redis is reachable; otherwise the point is lost and counted.
    #[inline]
    pub(crate) fn send(&self, msg: Msg) {
        let Err(mut msg) = self.lanes.push(msg) else { return };
        if self.lanes.is_closed() {
            self.dropped.fetch_add(msg.points(), Ordering::Relaxed);
            return;
        }
        if clock::clock().is_some() {
            while self.connected.load(Ordering::Relaxed) && !self.lanes.is_closed() {
                std::thread::sleep(BACKPRESSURE_NAP);
                match self.lanes.push(msg) {
                    Ok(()) => return,
                    Err(back) => msg = back,
                }
            }
        }
        if !self.full_warned.swap(true, Ordering::Relaxed) {
            eprintln!("chartbridge: a thread queued more than Config::queue points the worker could not take yet; dropping its newest (see Stats::dropped)");
        }
        self.lanes.lose(msg);
    }

    pub(crate) fn next_series_index(&self) -> u32 {
        self.next_series.fetch_add(1, Ordering::Relaxed)
    }
}

/// Source location of a series, so the editor can jump from a chart to its code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub file: String,
    pub line: u32,
}

/// The registry entry of a series (SPEC section 5).
#[derive(Clone, Debug)]
pub struct SeriesSpec {
    pub id: String,
    pub kind: Kind,
    pub pane: String,
    pub title: String,
    pub color: Option<String>,
    /// lightweight-charts series options, passed through; a JSON object.
    pub options: Json,
    pub source: Option<Source>,
    /// The series a marker series draws on.
    pub target: Option<String>,
    /// Decimals shown and tick size (`None`: `10^-precision`), written as the `priceFormat` option (SPEC section 5).
    pub precision: Option<(u32, Option<f64>)>,
    /// The `unit` option: a currency or `%`.
    pub unit: Option<String>,
    /// A condition: a `line` of one named boolean per bar, registry role `condition` (SPEC section 5).
    pub condition: bool,
}

impl SeriesSpec {
    pub fn new(id: &str, kind: Kind) -> SeriesSpec {
        SeriesSpec {
            id: id.to_owned(),
            kind,
            pane: "main".to_owned(),
            title: id.to_owned(),
            color: None,
            options: json!({}),
            source: None,
            target: None,
            precision: None,
            unit: None,
            condition: false,
        }
    }

    /// A condition's series (see [`crate::condition`]): a step line in pane `conditions` for readers that do not know the role.
    pub fn condition(id: &str) -> SeriesSpec {
        SeriesSpec { condition: true, ..SeriesSpec::new(id, Kind::Line).pane("conditions").options(json!({"lineType": 1})) }
    }

    /// `precision` decimals (0 to 15) with tick `min_move` (`None`: `10^-precision`), as Python's `precision=`/`min_move=`.
    pub fn precision(mut self, precision: u32, min_move: Option<f64>) -> Self {
        self.precision = Some((precision, min_move));
        self
    }

    /// The unit its values read in (1 to 16 characters), as Python's `unit=`.
    pub fn unit(mut self, unit: &str) -> Self {
        self.unit = Some(unit.to_owned());
        self
    }

    pub fn pane(mut self, pane: &str) -> Self {
        self.pane = pane.to_owned();
        self
    }

    pub fn title(mut self, title: &str) -> Self {
        self.title = title.to_owned();
        self
    }

    pub fn color(mut self, color: &str) -> Self {
        self.color = Some(color.to_owned());
        self
    }

    pub fn options(mut self, options: Json) -> Self {
        self.options = options;
        self
    }

    pub fn source(mut self, file: &str, line: u32) -> Self {
        self.source = Some(Source { file: file.to_owned(), line });
        self
    }

    pub fn target(mut self, target: &str) -> Self {
        self.target = Some(target.to_owned());
        self
    }

    /// The registry value, once the names and sizes are checked.
    /// A precision over 15, a tick that is not a positive number or a unit not of 1 to 16 characters is refused with `Code::Limit`.
    pub fn registry_json(&self) -> Result<String, Code> {
        names::check_series_id(&self.id)?;
        if let Some(target) = &self.target {
            names::check_series_id(target)?;
        }
        let Json::Object(mut options) = self.options.clone() else {
            return Err(Code::Limit);
        };
        if let Some((precision, min_move)) = self.precision {
            // 10^-precision as the nearest f64 (what parsing "1e-5" gives), the same as the Python SDK's.
            let tick = min_move.unwrap_or_else(|| format!("1e-{precision}").parse().unwrap_or(1.0));
            if precision > 15 || !(tick.is_finite() && tick > 0.0) {
                return Err(Code::Limit);
            }
            options.insert("priceFormat".into(), json!({"type": "price", "precision": precision, "minMove": tick}));
        }
        if let Some(unit) = &self.unit {
            if !(1..=16).contains(&unit.chars().count()) {
                return Err(Code::Limit);
            }
            options.insert("unit".into(), json!(unit));
        }
        let mut entry = json!({
            "kind": self.kind.as_str(),
            "pane": self.pane,
            "title": self.title,
            "options": options,
            "source": self.source.as_ref().map(|s| json!({"file": s.file, "line": s.line})),
        });
        if let Some(color) = &self.color {
            entry["color"] = json!(color);
        }
        if let Some(target) = &self.target {
            entry["target"] = json!(target);
        }
        if self.condition && self.kind == Kind::Line {
            entry["role"] = json!("condition");
        }
        let text = entry.to_string();
        if text.len() > MAX_REGISTRY_JSON {
            return Err(Code::Limit);
        }
        Ok(text)
    }
}

/// A handle to one registered series; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Series {
    index: u32,
    kind: Kind,
    shared: Arc<Shared>,
}

impl Series {
    /// Charts `point` at time `t` (ns). Refuses values the wire format forbids; a time that goes
    /// backwards is refused by the worker, which sees every point in order, and counted.
    pub fn add_at(&self, t: i64, point: Point) -> Result<(), Code> {
        crate::wire::check_point(self.kind, t, &point)?;
        self.shared.send(Msg::Point { series: self.index, t, point });
        Ok(())
    }

    /// Charts `point` at the integration clock, else the wall clock.
    pub fn add(&self, point: Point) -> Result<(), Code> {
        self.add_at(clock::now_or(|| None), point)
    }

    pub fn value(&self, value: f64) -> Result<(), Code> {
        self.add(Point::Value(value))
    }

    pub fn candle(&self, candle: Candle) -> Result<(), Code> {
        self.add(Point::Candle(candle))
    }

    /// A marker at `price` (NaN: no price, the marker sits by the bar).
    pub fn marker(&self, price: f64, marker: Marker) -> Result<(), Code> {
        self.add(Point::Marker(price, marker))
    }
}

/// Publishes one run. Create it with [`Publisher::start`] (or `chartbridge::start` to make it
/// the run `#[chart]` writes to); [`Publisher::close`] flushes and ends the run.
pub struct Publisher {
    shared: Arc<Shared>,
    keys: Keys,
    worker: Mutex<Option<JoinHandle<()>>>,
    close_timeout: Duration,
}

impl Publisher {
    /// Starts the background worker. Never touches the network on the caller's thread: an
    /// unreachable Redis only delays the writes. Fails only on invalid names (`E_NAME`).
    pub fn start(config: Config) -> Result<Publisher, Code> {
        names::check_prefix(&config.prefix)?;
        names::check_run_id(&config.run)?;
        // SPEC section 5: the identity is at most 64 KiB of JSON.
        if Json::Object(config.params.clone()).to_string().len() > MAX_REGISTRY_JSON {
            return Err(Code::Limit);
        }
        let (control, rx) = mpsc::sync_channel(4);
        let shared = Arc::new(Shared {
            lanes: Lanes::new(config.queue),
            control,
            written: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            connected: AtomicBool::new(false),
            series: Mutex::new(BTreeMap::new()),
            next_series: AtomicU32::new(0),
            full_warned: AtomicBool::new(false),
        });
        let keys = Keys::new(&config.prefix, &config.run);
        let close_timeout = config.close_timeout;
        let handle = worker::spawn(config, rx, Arc::clone(&shared)).map_err(|_| Code::Limit)?;
        Ok(Publisher { shared, keys, worker: Mutex::new(Some(handle)), close_timeout })
    }

    /// Identifies this run among others in one process while any of its series lives.
    pub(crate) fn run_key(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }

    /// Registers a series; its registry entry is written before its first batch.
    pub fn series(&self, spec: SeriesSpec) -> Result<Series, Code> {
        let registry = spec.registry_json()?;
        let index = self.shared.next_series_index();
        self.shared.send(Msg::Register { series: index, id: spec.id, kind: spec.kind, registry });
        Ok(Series { index, kind: spec.kind, shared: Arc::clone(&self.shared) })
    }

    /// Enables or disables a JS plugin for this run, with its parameters.
    pub fn plugin(&self, name: &str, enabled: bool, params: Json) -> Result<(), Code> {
        names::check_plugin_name(name)?;
        let value = json!({"enabled": enabled, "params": params});
        let event = json!({"name": name, "enabled": enabled, "params": params});
        let writes = vec![
            Write::hset(self.keys.plugins(), vec![(name.to_owned(), value.to_string())]),
            Write::event(&self.keys, "plugin", event.to_string()),
        ];
        self.shared.send(Msg::Writes(writes, true));
        Ok(())
    }

    /// Publishes a payload on a topic that plugins can subscribe to.
    pub fn publish(&self, topic: &str, payload: Json) -> Result<(), Code> {
        let data = json!({"topic": topic, "payload": payload}).to_string();
        if data.len() > MAX_PUBLISH_JSON {
            return Err(Code::Limit);
        }
        self.shared.send(Msg::Writes(vec![Write::publish(&self.keys, data)], false));
        Ok(())
    }

    /// Stores the end-of-run statistics: `{"stats": {...}, "trades": [...]}`.
    pub fn results(&self, results: Json) -> Result<(), Code> {
        let writes = vec![
            Write::Set { key: self.keys.results(), value: results.to_string().into_bytes() },
            Write::event(&self.keys, "results", "{}".to_owned()),
        ];
        self.shared.send(Msg::Writes(writes, true));
        Ok(())
    }

    /// Waits until everything queued so far is in Redis, at most `timeout`. False on timeout
    /// (Redis down, or the backlog still being written).
    pub fn flush(&self, timeout: Duration) -> bool {
        let (ack, done) = mpsc::sync_channel(1);
        self.shared.control.send(Control::Flush(ack)).is_ok() && done.recv_timeout(timeout).is_ok()
    }

    /// Flushes (at most `Config::close_timeout`), marks the run ended and stops the worker.
    /// Idempotent; also done on drop.
    pub fn close(&self) {
        let Some(handle) = self.worker.lock().map(|mut w| w.take()).unwrap_or(None) else {
            return;
        };
        let (ack, done) = mpsc::sync_channel(1);
        if self.shared.control.send(Control::Close(ack)).is_ok() {
            // The worker bounds its own wait by close_timeout; the margin covers one slow write.
            let _ = done.recv_timeout(self.close_timeout + Duration::from_secs(3));
        }
        let _ = handle.join();
    }

    pub fn stats(&self) -> Stats {
        Stats {
            written: self.shared.written.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            refused: self.shared.refused.load(Ordering::Relaxed),
            connected: self.shared.connected.load(Ordering::Relaxed),
            series: self.shared.series.lock().map(|s| s.clone()).unwrap_or_default(),
        }
    }

    /// Queues a point from a `#[chart]` site, and its indicators' values computed here from this
    /// input; the worker registers the site's series on first use.
    pub(crate) fn send_site(&self, site: &'static SiteSpec, owner: Option<fn() -> &'static str>, t: i64, point: Point) {
        let input = match &point {
            Point::Value(v) => Some(*v),
            Point::Candle(c) => Some(c.close),
            Point::Marker(..) => None,
        };
        if site.raw {
            self.shared.send(Msg::Site { site, owner, t, point });
        }
        if let Some(x) = input.filter(|x| x.is_finite() && !site.indicators.is_empty()) {
            let owner_key = owner.map_or(0, |f| f as usize);
            site.indicator_state.update(self.shared.lanes.id(), owner_key, site.indicators, x, |which, y| {
                self.shared.send(Msg::SiteValue { site, owner, which, t, y });
            });
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.close();
    }
}
