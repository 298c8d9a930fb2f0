//! The background thread of a publisher: buffers points per series, turns each series' buffer
//! into one stream entry per flush, writes everything in pipelines, keeps a bounded backlog while
//! Redis is away (dropping the oldest point entries beyond it, counted per series and recorded in
//! the run's `lost` hash) and resends it without duplicates when Redis is back.
//!
//! No duplicates: every entry of a run stream gets an explicit stream ID when it is queued, and
//! keeps it through retries. After a reconnect the worker asks each stream for its last ID and
//! drops the queued entries Redis already has (a pipeline may have been cut half way).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use redis::Value;
use serde_json::json;

use crate::clock::wall_clock;
use crate::keys::Keys;
use crate::link::Link;
use crate::publisher::{Config, SeriesSpec, SeriesStats, Shared};
use crate::site::SiteSpec;
use crate::wire::{Batch, Fields, Kind, MAX_POINTS, Point};

/// Writes per pipeline: big enough to amortise round trips, small enough to bound a retry.
const PIPELINE_WRITES: usize = 512;
/// SPEC: the heartbeat is refreshed at least every 5 s.
const HEARTBEAT: Duration = Duration::from_secs(2);
/// SPEC: producers trim the runlog with `MAXLEN ~ 10000`.
const RUNLOG_MAXLEN: usize = 10_000;
/// A cycle that took at least this many messages starts the next one at once: the threads are
/// producing faster than one flush interval's worth.
const BUSY_MSGS: usize = 4_096;
/// Acknowledged point entries remembered per stream, so that after an outage a tail Redis
/// acknowledged and then lost (a failover to a replica it had not reached) is found and counted
/// (SPEC section 9). Replication lags by milliseconds: 1024 entries are far more than that.
const ACKED_KEPT: usize = 1_024;

/// A stream's newest acknowledged point entries: (ID, points, series slot), oldest first.
type Acked = VecDeque<((u64, u64), u64, usize)>;

pub(crate) type Owner = Option<fn() -> &'static str>;

pub(crate) enum Msg {
    Register { series: u32, id: String, kind: Kind, registry: String },
    Point { series: u32, t: i64, point: Point },
    /// The value a `#[chart]` site charts.
    Site { site: &'static SiteSpec, owner: Owner, t: i64, point: Point },
    /// The value of the site's indicator number `which`, computed at call time.
    SiteValue { site: &'static SiteSpec, owner: Owner, which: u16, t: i64, y: f64 },
    /// Run-level writes; `replay` marks state that must be written again if Redis lost the run.
    Writes(Vec<Write>, bool),
}

impl Msg {
    /// Points this message charts.
    pub(crate) fn points(&self) -> u64 {
        match self {
            Msg::Point { .. } | Msg::Site { .. } | Msg::SiteValue { .. } => 1,
            Msg::Register { .. } | Msg::Writes(..) => 0,
        }
    }

    /// Whether both messages chart into the same series.
    pub(crate) fn same_target(&self, other: &Msg) -> bool {
        let owner = |o: &Owner| o.map_or(0, |f| f as usize);
        match (self, other) {
            (Msg::Point { series: a, .. }, Msg::Point { series: b, .. }) => a == b,
            (Msg::Site { site: a, owner: oa, .. }, Msg::Site { site: b, owner: ob, .. }) => std::ptr::eq(*a, *b) && owner(oa) == owner(ob),
            (Msg::SiteValue { site: a, owner: oa, which: wa, .. }, Msg::SiteValue { site: b, owner: ob, which: wb, .. }) => {
                std::ptr::eq(*a, *b) && owner(oa) == owner(ob) && wa == wb
            }
            _ => false,
        }
    }
}

/// Requests that need the worker now rather than at its next flush tick.
pub(crate) enum Control {
    Flush(SyncSender<()>),
    Close(SyncSender<()>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum StreamId {
    /// `*`: for the prefix-wide runlog, which several producers share.
    Auto,
    /// An explicit ID, assigned when the write is queued.
    Next,
    At(u64, u64),
}

#[derive(Clone, Debug)]
pub(crate) enum Write {
    Hset { key: String, fields: Vec<(String, String)> },
    Zadd { key: String, score: i64, member: String },
    Set { key: String, value: Vec<u8> },
    /// `series` is the slot of a point entry's series; `droppable` marks what an outage may
    /// drop beyond the backlog bound (point entries and `publish` events, oldest first).
    Xadd { key: String, id: StreamId, maxlen: Option<usize>, fields: Fields, points: u64, series: Option<usize>, droppable: bool },
}

impl Write {
    pub(crate) fn hset(key: String, fields: Vec<(String, String)>) -> Write {
        Write::Hset { key, fields }
    }

    /// An entry of the run's events stream (SPEC section 6).
    pub(crate) fn event(keys: &Keys, kind: &str, data: String) -> Write {
        let fields = vec![("type", kind.as_bytes().to_vec()), ("data", data.into_bytes())];
        Write::Xadd { key: keys.events(), id: StreamId::Next, maxlen: None, fields, points: 0, series: None, droppable: kind == "publish" }
    }

    /// A `publish` event: a message to plugins, droppable in an outage like points.
    pub(crate) fn publish(keys: &Keys, data: String) -> Write {
        Write::event(keys, "publish", data)
    }

    fn runlog(keys: &Keys, run: &str, kind: &str) -> Write {
        let fields = vec![("run", run.as_bytes().to_vec()), ("type", kind.as_bytes().to_vec())];
        Write::Xadd { key: keys.runlog(), id: StreamId::Auto, maxlen: Some(RUNLOG_MAXLEN), fields, points: 0, series: None, droppable: false }
    }

    /// The series slot and points of a point entry.
    fn series_points(&self) -> Option<(usize, u64)> {
        match self {
            Write::Xadd { series: Some(slot), points, .. } => Some((*slot, *points)),
            _ => None,
        }
    }

    fn add_to(&self, pipe: &mut redis::Pipeline) {
        match self {
            Write::Hset { key, fields } => {
                let cmd = pipe.cmd("HSET").arg(key);
                fields.iter().for_each(|(f, v)| {
                    cmd.arg(f).arg(v);
                });
            }
            Write::Zadd { key, score, member } => {
                pipe.cmd("ZADD").arg(key).arg(score).arg(member);
            }
            Write::Set { key, value } => {
                pipe.cmd("SET").arg(key).arg(value);
            }
            Write::Xadd { key, id, maxlen, fields, .. } => {
                let cmd = pipe.cmd("XADD").arg(key);
                if let Some(maxlen) = maxlen {
                    cmd.arg("MAXLEN").arg("~").arg(maxlen);
                }
                match id {
                    StreamId::At(ms, seq) => cmd.arg(format!("{ms}-{seq}")),
                    _ => cmd.arg("*"),
                };
                fields.iter().for_each(|(f, v)| {
                    cmd.arg(*f).arg(v.as_slice());
                });
            }
        }
    }
}

pub(crate) fn spawn(config: Config, rx: Receiver<Control>, shared: Arc<Shared>) -> std::io::Result<JoinHandle<()>> {
    thread::Builder::new().name("chartbridge".to_owned()).spawn(move || Worker::new(config, shared).run(rx))
}

/// One registered series and the points not yet turned into entries.
struct SeriesState {
    id: String,
    key: String,
    kind: Kind,
    registry: String,
    /// Whether its registry entry has been queued (it precedes the first batch).
    announced: bool,
    last_t: Option<i64>,
    batches: Vec<Batch>,
    warned: bool,
    stats: SeriesStats,
    /// The `dropped` count last written to the run's `lost` record.
    recorded: u64,
}

/// The series a `#[chart]` site feeds: its raw value and/or one per indicator.
struct SiteState {
    raw: Option<usize>,
    indicators: Vec<Option<usize>>,
}

/// Every series of the run and the points buffered for them.
struct Buffers {
    series: Vec<SeriesState>,
    by_index: HashMap<u32, usize>,
    by_id: HashMap<String, usize>,
    /// Points buffered here or queued in the outbox; bounded by `Config::max_backlog`.
    backlog: usize,
    /// Whether per-series counts changed since they were last published to `Shared::series`.
    dirty: bool,
}

impl Buffers {
    /// Registers `index` under `id`; a second registration of an id shares the first's series.
    fn register(&mut self, index: u32, id: String, kind: Kind, registry: String, keys: &Keys) -> usize {
        let slot = *self.by_id.entry(id.clone()).or_insert_with(|| {
            let key = keys.series(&id);
            self.series.push(SeriesState {
                id,
                key,
                kind,
                registry,
                announced: false,
                last_t: None,
                batches: Vec::new(),
                warned: false,
                stats: SeriesStats::default(),
                recorded: 0,
            });
            self.series.len() - 1
        });
        self.by_index.insert(index, slot);
        slot
    }

    /// Counts `points` of `slot` as lost.
    fn lose(&mut self, slot: usize, points: u64, shared: &Shared) {
        self.series[slot].stats.dropped += points;
        shared.dropped.fetch_add(points, Ordering::Relaxed);
        self.dirty = true;
    }

    /// Buffers one point, or refuses it (wire rules, time going backwards) and counts it.
    fn accept(&mut self, slot: usize, t: i64, point: Point, shared: &Shared) {
        let s = &mut self.series[slot];
        let checked = crate::wire::check_point(s.kind, t, &point).and_then(|()| match s.last_t {
            Some(last) if t < last => Err(crate::wire::Code::Order),
            _ => Ok(()),
        });
        if let Err(code) = checked {
            shared.refused.fetch_add(1, Ordering::Relaxed);
            s.stats.refused += 1;
            self.dirty = true;
            if !s.warned {
                s.warned = true;
                eprintln!("chartbridge: series {} refused a point ({code}); further refusals are only counted", s.id);
            }
            return;
        }
        s.last_t = Some(t);
        match s.batches.last_mut() {
            Some(batch) if batch.len() < MAX_POINTS && batch.accepts(&point) => batch.push(t, point),
            _ => {
                let with_volume = matches!(&point, Point::Candle(c) if c.volume.is_some());
                let mut batch = Batch::new(s.kind, with_volume);
                batch.push(t, point);
                s.batches.push(batch);
            }
        }
        self.backlog += 1;
    }
}

struct Worker {
    config: Config,
    keys: Keys,
    shared: Arc<Shared>,
    buffers: Buffers,
    /// By (site address, owner): few, and consecutive messages mostly come from one site, so a
    /// look at the last one found and then a scan beat hashing every message.
    sites: Vec<((usize, usize), SiteState)>,
    last_site: usize,
    outbox: VecDeque<Write>,
    /// Run state to write again if Redis comes back without the run (restarted, no persistence).
    replay: Vec<Write>,
    link: Link,
    /// Whether any write reached Redis, so an empty Redis later means it lost the run.
    written_once: bool,
    last_ids: HashMap<String, (u64, u64)>,
    waiters: Vec<SyncSender<()>>,
    next_heartbeat: Instant,
    /// Messages taken by the last drain, to tell a busy producer from an idle one.
    drained: usize,
    /// Whether this outage's first drop has been reported.
    loss_warned: bool,
    /// Per series stream, the newest point entries Redis acknowledged.
    acked: HashMap<String, Acked>,
}

impl Worker {
    fn new(config: Config, shared: Arc<Shared>) -> Worker {
        let keys = Keys::new(&config.prefix, &config.run);
        let link = Link::new(&config.url, &config.tls);
        let buffers = Buffers { series: Vec::new(), by_index: HashMap::new(), by_id: HashMap::new(), backlog: 0, dirty: false };
        let mut worker = Worker {
            config,
            keys,
            shared,
            buffers,
            sites: Vec::new(),
            last_site: 0,
            outbox: VecDeque::new(),
            replay: Vec::new(),
            link,
            written_once: false,
            last_ids: HashMap::new(),
            waiters: Vec::new(),
            next_heartbeat: Instant::now() + HEARTBEAT,
            drained: 0,
            loss_warned: false,
            acked: HashMap::new(),
        };
        worker.queue_start();
        worker
    }

    fn run(mut self, rx: Receiver<Control>) {
        let mut next_write = Instant::now();
        loop {
            let wait = next_write.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Control::Flush(ack)) => {
                    self.waiters.push(ack);
                    next_write = Instant::now();
                }
                Ok(Control::Close(ack)) => {
                    self.close();
                    let _ = ack.send(());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.close();
                    return;
                }
            }
            if Instant::now() >= next_write {
                self.write();
                let busy = self.drained >= BUSY_MSGS && self.link.is_up();
                next_write = if busy { Instant::now() } else { Instant::now() + self.config.flush_interval };
            }
        }
    }

    /// Takes what every thread queued since the last tick, and counts what full lanes lost.
    fn drain(&mut self) {
        let shared = Arc::clone(&self.shared);
        let mut drained = 0;
        let mut lost = Vec::new();
        shared.lanes.drain(
            |msg| {
                drained += 1;
                self.handle(msg);
            },
            |msg, n| lost.push((msg, n)),
        );
        self.drained = drained;
        for (msg, n) in lost {
            match self.slot_of(msg) {
                Some(slot) => self.buffers.lose(slot, n, &self.shared),
                None => {
                    self.shared.dropped.fetch_add(n, Ordering::Relaxed);
                }
            }
        }
    }

    /// The series slot a point message charts into (registering a site's series if needed).
    fn slot_of(&mut self, msg: Msg) -> Option<usize> {
        match msg {
            Msg::Point { series, .. } => self.buffers.by_index.get(&series).copied(),
            Msg::Site { site, owner, point, .. } => self.site(site, owner, Some(&point)).raw,
            Msg::SiteValue { site, owner, which, .. } => self.site(site, owner, None).indicators.get(usize::from(which)).copied().flatten(),
            Msg::Register { .. } | Msg::Writes(..) => None,
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Register { series, id, kind, registry } => {
                self.buffers.register(series, id, kind, registry, &self.keys);
            }
            Msg::Point { series, t, point } => match self.buffers.by_index.get(&series) {
                Some(&slot) => self.buffers.accept(slot, t, point, &self.shared),
                None => {
                    self.shared.refused.fetch_add(1, Ordering::Relaxed);
                }
            },
            Msg::Site { site, owner, t, point } => {
                if let Some(slot) = self.site(site, owner, Some(&point)).raw {
                    self.buffers.accept(slot, t, point, &self.shared);
                }
            }
            Msg::SiteValue { site, owner, which, t, y } => {
                if let Some(Some(slot)) = self.site(site, owner, None).indicators.get(usize::from(which)).copied() {
                    self.buffers.accept(slot, t, Point::Value(y), &self.shared);
                }
            }
            Msg::Writes(writes, replay) => {
                if replay {
                    self.replay.extend(writes.iter().cloned());
                }
                writes.into_iter().for_each(|w| self.enqueue(w));
            }
        }
    }

    /// The series of a site (and owner type), registered on its first message.
    fn site(&mut self, site: &'static SiteSpec, owner: Owner, first: Option<&Point>) -> &SiteState {
        let key = (site as *const SiteSpec as usize, owner.map_or(0, |f| f as usize));
        if self.sites.get(self.last_site).is_none_or(|(k, _)| *k != key) {
            self.last_site = match self.sites.iter().position(|(k, _)| *k == key) {
                Some(index) => index,
                None => {
                    let state = self.register_site(site, owner, first);
                    self.sites.push((key, state));
                    self.sites.len() - 1
                }
            };
        }
        &self.sites[self.last_site].1
    }

    /// Creates the series of a site on its first point: the raw value (kind from the attribute,
    /// else from the value's shape) and one line per indicator.
    fn register_site(&mut self, site: &'static SiteSpec, owner: Owner, first: Option<&Point>) -> SiteState {
        let base = site.series_id(owner);
        let title = site.title.map_or_else(|| base.clone(), str::to_owned);
        let options = serde_json::from_str(site.options).unwrap_or_else(|_| json!({}));
        let file = crate::site::source_file(site.file, site.manifest_dir);
        let spec = |id: String, kind: Kind, title: String| {
            let mut spec = SeriesSpec::new(&id, kind).pane(site.pane).title(&title).options(options.clone()).source(&file, site.line);
            spec.color = site.color.map(str::to_owned);
            spec
        };
        let mut register = |spec: SeriesSpec| match spec.registry_json() {
            Ok(registry) => {
                let index = self.shared.next_series_index();
                Some(self.buffers.register(index, spec.id, spec.kind, registry, &self.keys))
            }
            Err(code) => {
                eprintln!("chartbridge: #[chart] at {}:{} cannot register series {:?} ({code})", site.file, site.line, spec.id);
                None
            }
        };
        let raw_kind = site.kind.unwrap_or(match first {
            Some(Point::Candle(_)) => Kind::Candlestick,
            Some(Point::Marker(..)) => Kind::Marker,
            _ => Kind::Line,
        });
        let raw = if site.raw { register(spec(base.clone(), raw_kind, title.clone())) } else { None };
        let indicators = site
            .indicators
            .iter()
            .map(|ind| {
                let id = format!("{base}.{}", ind.suffix());
                register(spec(id.clone(), Kind::Line, id))
            })
            .collect();
        SiteState { raw, indicators }
    }

    /// Manifest, runs index and runlog entry of a starting run (SPEC sections 2 and 5).
    fn queue_start(&mut self) {
        let now = wall_clock();
        let c = &self.config;
        let (identity, dirty) = crate::identity::identity(&c.source, &c.params);
        let manifest = [
            ("v", "1".to_owned()),
            ("run", c.run.clone()),
            ("strategy", c.strategy.clone()),
            ("source", c.source.clone()),
            ("language", "rust".to_owned()),
            ("started", now.to_string()),
            ("heartbeat", now.to_string()),
            ("status", "running".to_owned()),
            ("identity", identity.to_string()),
        ];
        let mut writes = vec![
            Write::hset(self.keys.manifest(), manifest.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
            Write::Zadd { key: self.keys.runs(), score: now / 1_000_000, member: c.run.clone() },
            Write::runlog(&self.keys, &c.run, "start"),
        ];
        writes.extend(dirty.map(|value| Write::Set { key: self.keys.dirty(), value }));
        self.handle(Msg::Writes(writes, true));
    }

    fn queue_end(&mut self) {
        let now = wall_clock().to_string();
        let manifest = vec![
            ("status".to_owned(), "ended".to_owned()),
            ("ended".to_owned(), now.clone()),
            ("heartbeat".to_owned(), now),
        ];
        let writes = vec![
            Write::hset(self.keys.manifest(), manifest),
            Write::event(&self.keys, "end", "{}".to_owned()),
            Write::runlog(&self.keys, &self.config.run, "end"),
        ];
        self.handle(Msg::Writes(writes, true));
    }

    /// Queues a write, giving run-stream entries their explicit, increasing stream ID.
    fn enqueue(&mut self, mut write: Write) {
        if let Write::Xadd { key, id: id @ StreamId::Next, .. } = &mut write {
            *id = self.next_id(key);
        }
        self.outbox.push_back(write);
    }

    fn next_id(&mut self, key: &str) -> StreamId {
        let now_ms = (wall_clock() / 1_000_000) as u64;
        let last = self.last_ids.entry(key.to_owned()).or_insert((0, 0));
        // The wall clock may step back; IDs must not.
        *last = if now_ms > last.0 { (now_ms, 0) } else { (last.0, last.1 + 1) };
        StreamId::At(last.0, last.1)
    }

    /// Turns buffered points into entries, registry entries first for new series.
    fn seal(&mut self) {
        for slot in 0..self.buffers.series.len() {
            let s = &mut self.buffers.series[slot];
            if s.batches.is_empty() {
                continue;
            }
            let batches = std::mem::take(&mut s.batches);
            let key = s.key.clone();
            if !s.announced {
                s.announced = true;
                let announce = vec![
                    Write::hset(self.keys.registry(), vec![(s.id.clone(), s.registry.clone())]),
                    Write::event(&self.keys, "series", json!({"id": s.id}).to_string()),
                ];
                self.handle(Msg::Writes(announce, true));
            }
            for batch in batches {
                let points = batch.len() as u64;
                match batch.encode() {
                    Ok(fields) => self.enqueue(Write::Xadd {
                        key: key.clone(),
                        id: StreamId::Next,
                        maxlen: None,
                        fields,
                        points,
                        series: Some(slot),
                        droppable: true,
                    }),
                    // Unreachable for checked points; counted rather than trusted.
                    Err(_) => {
                        self.shared.refused.fetch_add(points, Ordering::Relaxed);
                        self.buffers.backlog -= points as usize;
                    }
                }
            }
        }
    }

    /// One write cycle: seal, trim to the backlog bound, (re)connect, write the outbox in
    /// pipelines, answer flush waiters, publish the per-series counts.
    fn write(&mut self) {
        self.drain();
        self.seal();
        self.trim();
        if Instant::now() >= self.next_heartbeat && self.link.is_up() {
            self.next_heartbeat = Instant::now() + HEARTBEAT;
            let beat = Write::hset(self.keys.manifest(), vec![("heartbeat".to_owned(), wall_clock().to_string())]);
            self.enqueue(beat);
        }
        if self.link.is_up() {
            self.record_loss();
        }
        while !self.outbox.is_empty() {
            match self.link.connect() {
                None => break,
                Some(true) if !self.reconcile() => break,
                Some(true) => self.record_loss(),
                Some(false) => {}
            }
            if self.outbox.is_empty() {
                break; // reconciling found everything already written
            }
            // After a failed attempt, one write probes first: a Redis still full then refuses it
            // alone, and no later entry of its stream can overtake it.
            let n = if self.link.in_outage() { 1 } else { self.outbox.len().min(PIPELINE_WRITES) };
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            self.outbox.iter().take(n).for_each(|w| w.add_to(&mut pipe));
            let Some(replies) = self.link.query::<Vec<Value>>(&pipe) else { break };
            self.written_once = true;
            let refusal = |code: &str| {
                replies.iter().find_map(|r| match r {
                    Value::ServerError(e) if e.code() == code => Some(e.clone()),
                    _ => None,
                })
            };
            if let Some(e) = refusal("NOPERM") {
                // The ACL user lacks a right: nothing is dropped while the user fixes it. The
                // writes that did land are found on reconnect (explicit IDs, idempotent HSETs).
                self.link.refused(&e);
                break;
            }
            // Redis full (`maxmemory` under `noeviction`) is an outage too, but a full Redis may
            // take some writes of a pipeline and refuse others: each refused write is kept to send
            // again (within the backlog bound), unless a later entry of its stream landed, after
            // which it can no longer be stored in order (it is dropped and counted).
            let full = refusal("OOM");
            let mut landed_after: HashMap<&str, usize> = HashMap::new();
            for (i, (write, reply)) in self.outbox.iter().take(n).zip(&replies).enumerate() {
                if let (Write::Xadd { key, .. }, false) = (write, matches!(reply, Value::ServerError(_))) {
                    landed_after.insert(key.as_str(), i);
                }
            }
            let keep: Vec<bool> = self
                .outbox
                .iter()
                .take(n)
                .zip(&replies)
                .enumerate()
                .map(|(i, (write, reply))| {
                    let oom = matches!(reply, Value::ServerError(e) if e.code() == "OOM");
                    oom && !matches!(write, Write::Xadd { key, .. } if landed_after.get(key.as_str()).is_some_and(|&j| j > i))
                })
                .collect();
            if full.is_none() {
                self.link.delivered();
            }
            let mut retry = Vec::new();
            for ((write, reply), keep) in self.outbox.drain(..n).zip(replies).zip(keep) {
                if keep {
                    retry.push(write);
                    continue;
                }
                let target = write.series_points();
                if let Some((_, points)) = target {
                    self.buffers.backlog -= points as usize;
                }
                match (target, reply) {
                    // Redis refused this one write (a key of another type, an entry that can no
                    // longer go in order, ...): retrying cannot help, so it is dropped and counted.
                    (Some((slot, points)), Value::ServerError(e)) => {
                        self.buffers.lose(slot, points, &self.shared);
                        eprintln!("chartbridge: Redis refused a write to series {} ({e:?})", self.buffers.series[slot].id);
                    }
                    (None, Value::ServerError(e)) => eprintln!("chartbridge: Redis refused a write ({e:?})"),
                    (Some((slot, points)), _) => {
                        self.buffers.series[slot].stats.written += points;
                        self.buffers.dirty = true;
                        self.shared.written.fetch_add(points, Ordering::Relaxed);
                        if let Write::Xadd { key, id: StreamId::At(ms, seq), .. } = &write {
                            let acked = self.acked.entry(key.clone()).or_default();
                            if acked.len() == ACKED_KEPT {
                                acked.pop_front();
                            }
                            acked.push_back(((*ms, *seq), points, slot));
                        }
                    }
                    (None, _) => {}
                }
            }
            for write in retry.into_iter().rev() {
                self.outbox.push_front(write);
            }
            if let Some(e) = full {
                self.link.refused(&e);
                break;
            }
        }
        if self.link.is_up() && self.outbox.is_empty() {
            self.link.delivered();
        }
        self.shared.connected.store(self.link.is_up(), Ordering::Relaxed);
        self.publish_stats();
        if self.outbox.is_empty() {
            self.waiters.drain(..).for_each(|w| {
                let _ = w.send(());
            });
        }
    }

    /// Drops the oldest droppable entries (point batches, `publish` events) while more points
    /// than `Config::max_backlog` wait, counting them per series.
    fn trim(&mut self) {
        // While Redis answers, everything drained is written this cycle: nothing to drop.
        if self.buffers.backlog <= self.config.max_backlog || !self.link.in_outage() {
            return;
        }
        if !self.loss_warned {
            self.loss_warned = true;
            eprintln!(
                "chartbridge: more than {} points wait for Redis; dropping the oldest (counted per series in Stats and in the run's lost record)",
                self.config.max_backlog
            );
        }
        let mut kept = VecDeque::with_capacity(self.outbox.len());
        for write in std::mem::take(&mut self.outbox) {
            match write {
                Write::Xadd { droppable: true, points, series, .. } if self.buffers.backlog > self.config.max_backlog => {
                    self.buffers.backlog -= points as usize;
                    if let Some(slot) = series {
                        self.buffers.lose(slot, points, &self.shared);
                    }
                }
                write => kept.push_back(write),
            }
        }
        self.outbox = kept;
    }

    /// Queues the run's `lost` record (SPEC "Outages and loss") if a series lost points since it
    /// was last written: one HSET of each such series' total, so a resend is harmless.
    fn record_loss(&mut self) {
        let changed: Vec<(String, String)> = self
            .buffers
            .series
            .iter_mut()
            .filter(|s| s.stats.dropped > s.recorded)
            .map(|s| {
                s.recorded = s.stats.dropped;
                (s.id.clone(), s.stats.dropped.to_string())
            })
            .collect();
        if changed.is_empty() {
            return;
        }
        let summary: Vec<String> = changed.iter().map(|(id, n)| format!("{id}: {n}")).collect();
        eprintln!("chartbridge: points lost so far, per series (written to the run's lost record): {}", summary.join(", "));
        self.loss_warned = false;
        // A record still queued (Redis refused it: full) is folded into this one, so an older
        // total is never written after a newer one.
        let key = self.keys.lost();
        let mut fields: Vec<(String, String)> = Vec::new();
        self.outbox.retain(|w| match w {
            Write::Hset { key: queued, fields: older } if *queued == key => {
                fields.extend(older.iter().cloned());
                false
            }
            _ => true,
        });
        for (id, total) in changed {
            match fields.iter_mut().find(|(queued, _)| *queued == id) {
                Some(field) => field.1 = total,
                None => fields.push((id, total)),
            }
        }
        self.outbox.push_front(Write::hset(key, fields));
    }

    /// Makes the per-series counts visible to `Publisher::stats`.
    fn publish_stats(&mut self) {
        if !std::mem::take(&mut self.buffers.dirty) {
            return;
        }
        let mut series = self.shared.series.lock().unwrap_or_else(|e| e.into_inner());
        for s in &self.buffers.series {
            series.insert(s.id.clone(), s.stats);
        }
    }

    /// After a new connection: drops queued entries Redis already holds (a cut pipeline), and
    /// rewrites the run's state first if Redis came back without it. False if Redis failed again.
    fn reconcile(&mut self) -> bool {
        let keys: Vec<String> = {
            let mut seen = HashSet::new();
            let explicit = self.outbox.iter().filter_map(|w| match w {
                Write::Xadd { key, id: StreamId::At(..), .. } => Some(key),
                _ => None,
            });
            explicit.chain(self.acked.keys()).filter(|k| seen.insert(k.as_str())).cloned().collect()
        };
        let mut pipe = redis::pipe();
        pipe.cmd("EXISTS").arg(self.keys.manifest());
        for key in &keys {
            pipe.cmd("XREVRANGE").arg(key).arg("+").arg("-").arg("COUNT").arg(1);
        }
        let Some((exists, tops)) = self.link.query::<Vec<Value>>(&pipe).and_then(|mut replies| {
            let tops = replies.split_off(1);
            Some((redis::from_redis_value::<i64>(replies.pop()?).ok()?, tops))
        }) else {
            return false;
        };
        let last: HashMap<&str, StreamId> = keys
            .iter()
            .zip(tops)
            .filter_map(|(key, top)| {
                let entries = redis::from_redis_value::<Vec<(String, Value)>>(top).ok()?;
                let (id, _) = entries.into_iter().next()?;
                let (ms, seq) = id.split_once('-')?;
                Some((key.as_str(), StreamId::At(ms.parse().ok()?, seq.parse().ok()?)))
            })
            .collect();
        self.find_lost_tails(&keys, &last);
        let (buffers, written) = (&mut self.buffers, &self.shared.written);
        self.outbox.retain(|w| match w {
            Write::Xadd { key, id, points, series, .. } if last.get(key.as_str()).is_some_and(|top| id <= top) => {
                buffers.backlog -= *points as usize;
                if let Some(slot) = series {
                    buffers.series[*slot].stats.written += points;
                    buffers.dirty = true;
                }
                written.fetch_add(*points, Ordering::Relaxed);
                false
            }
            _ => true,
        });
        if exists == 0 && self.written_once {
            eprintln!("chartbridge: Redis came back without run {}; writing its state again", self.config.run);
            // The lost record went with the run: written again from the totals.
            self.buffers.series.iter_mut().for_each(|s| s.recorded = 0);
            // Redis holds none of the run's streams now, so every queued entry may take a new
            // ID: the replayed state goes first, and IDs must increase in queue order.
            let queued = std::mem::take(&mut self.outbox);
            for mut write in self.replay.clone().into_iter().chain(queued) {
                if let Write::Xadd { id: id @ StreamId::At(..), .. } = &mut write {
                    *id = StreamId::Next;
                }
                self.enqueue(write);
            }
        }
        true
    }

    /// Counts as lost (SPEC section 11) the point entries Redis acknowledged and no longer holds
    /// while it still holds older ones of their stream: a replica promoted by a failover before
    /// they reached it (asynchronous replication loses that tail). Their IDs are logged. A stream
    /// gone whole is a Redis that lost the run, which `reconcile` writes again.
    fn find_lost_tails(&mut self, keys: &[String], last: &HashMap<&str, StreamId>) {
        for key in keys {
            let Some(acked) = self.acked.get_mut(key) else { continue };
            let Some(StreamId::At(top_ms, top_seq)) = last.get(key.as_str()).copied() else {
                acked.clear();
                continue;
            };
            let kept = acked.iter().take_while(|(id, ..)| *id <= (top_ms, top_seq)).count();
            let gone: Vec<_> = acked.drain(kept..).collect();
            let (Some(first), Some(newest)) = (gone.first(), gone.last()) else { continue };
            let mut points = 0;
            for &(_, n, slot) in &gone {
                points += n;
                let stats = &mut self.buffers.series[slot].stats;
                stats.written -= n;
                self.shared.written.fetch_sub(n, Ordering::Relaxed);
                self.buffers.lose(slot, n, &self.shared);
            }
            eprintln!(
                "chartbridge: Redis no longer holds {points} points of {key} that it had acknowledged (entries {}-{} to {}-{}, after {top_ms}-{top_seq}): a failover to a replica they had not reached; counted in the run's lost record",
                first.0.0, first.0.1, newest.0.0, newest.0.1
            );
        }
    }

    /// Ends the run: queues the end writes and keeps writing until the outbox is empty or the
    /// close timeout passes; what is left then is counted as dropped.
    fn close(&mut self) {
        self.shared.lanes.close();
        self.drain();
        self.drain(); // what a thread pushed between the close mark and the first drain
        self.seal();
        self.queue_end();
        let deadline = Instant::now() + self.config.close_timeout;
        loop {
            self.write();
            if self.outbox.is_empty() || Instant::now() >= deadline {
                break;
            }
            thread::sleep(self.config.flush_interval.max(Duration::from_millis(1)));
        }
        for (slot, points) in std::mem::take(&mut self.outbox).iter().filter_map(Write::series_points) {
            self.buffers.lose(slot, points, &self.shared);
        }
        self.publish_stats();
        self.waiters.drain(..).for_each(|w| {
            let _ = w.send(());
        });
    }
}
