//! The background thread of a publisher: buffers points per series, turns each series' buffer
//! into one stream entry per flush, writes everything in pipelines, keeps a bounded backlog while
//! Redis is away and resends it without duplicates when Redis is back.
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
use crate::indicator;
use crate::keys::Keys;
use crate::link::Link;
use crate::publisher::{Config, SeriesSpec, Shared};
use crate::site::SiteSpec;
use crate::wire::{Batch, Fields, Kind, MAX_POINTS, Point};

/// Writes per pipeline: big enough to amortise round trips, small enough to bound a retry.
const PIPELINE_WRITES: usize = 512;
/// SPEC: the heartbeat is refreshed at least every 5 s.
const HEARTBEAT: Duration = Duration::from_secs(2);
/// SPEC: producers trim the runlog with `MAXLEN ~ 10000`.
const RUNLOG_MAXLEN: usize = 10_000;

pub(crate) enum Msg {
    Register { series: u32, id: String, kind: Kind, registry: String },
    Point { series: u32, t: i64, point: Point },
    Site { site: &'static SiteSpec, owner: Option<fn() -> &'static str>, t: i64, point: Point },
    /// Run-level writes; `replay` marks state that must be written again if Redis lost the run.
    Writes(Vec<Write>, bool),
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
    Set { key: String, value: String },
    Xadd { key: String, id: StreamId, maxlen: Option<usize>, fields: Fields, points: u64 },
}

impl Write {
    pub(crate) fn hset(key: String, fields: Vec<(String, String)>) -> Write {
        Write::Hset { key, fields }
    }

    /// An entry of the run's events stream (SPEC section 6).
    pub(crate) fn event(keys: &Keys, kind: &str, data: String) -> Write {
        let fields = vec![("type", kind.as_bytes().to_vec()), ("data", data.into_bytes())];
        Write::Xadd { key: keys.events(), id: StreamId::Next, maxlen: None, fields, points: 0 }
    }

    fn runlog(keys: &Keys, run: &str, kind: &str) -> Write {
        let fields = vec![("run", run.as_bytes().to_vec()), ("type", kind.as_bytes().to_vec())];
        Write::Xadd { key: keys.runlog(), id: StreamId::Auto, maxlen: Some(RUNLOG_MAXLEN), fields, points: 0 }
    }

    fn points(&self) -> u64 {
        match self {
            Write::Xadd { points, .. } => *points,
            _ => 0,
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
}

/// The series a `#[chart]` site feeds: its raw value and/or its indicators.
struct SiteState {
    raw: Option<usize>,
    indicators: Vec<(usize, indicator::State)>,
}

/// Every series of the run and the points buffered for them.
struct Buffers {
    series: Vec<SeriesState>,
    by_index: HashMap<u32, usize>,
    by_id: HashMap<String, usize>,
    /// Points buffered here or queued in the outbox; bounded by `Config::max_backlog`.
    backlog: usize,
    max_backlog: usize,
    full_warned: bool,
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
            });
            self.series.len() - 1
        });
        self.by_index.insert(index, slot);
        slot
    }

    /// Buffers one point, or refuses it (wire rules, time going backwards) or drops it (backlog
    /// full), counting either.
    fn accept(&mut self, slot: usize, t: i64, point: Point, shared: &Shared) {
        let s = &mut self.series[slot];
        let checked = crate::wire::check_point(s.kind, t, &point).and_then(|()| match s.last_t {
            Some(last) if t < last => Err(crate::wire::Code::Order),
            _ => Ok(()),
        });
        if let Err(code) = checked {
            shared.refused.fetch_add(1, Ordering::Relaxed);
            if !s.warned {
                s.warned = true;
                eprintln!("chartbridge: series {} refused a point ({code}); further refusals are only counted", s.id);
            }
            return;
        }
        if self.backlog >= self.max_backlog {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            if !self.full_warned {
                self.full_warned = true;
                eprintln!("chartbridge: backlog of {} points is full, dropping new points", self.max_backlog);
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
    sites: HashMap<usize, SiteState>,
    outbox: VecDeque<Write>,
    /// Run state to write again if Redis comes back without the run (restarted, no persistence).
    replay: Vec<Write>,
    link: Link,
    /// Whether any write reached Redis, so an empty Redis later means it lost the run.
    written_once: bool,
    last_ids: HashMap<String, (u64, u64)>,
    waiters: Vec<SyncSender<()>>,
    next_heartbeat: Instant,
}

impl Worker {
    fn new(config: Config, shared: Arc<Shared>) -> Worker {
        let keys = Keys::new(&config.prefix, &config.run);
        let link = Link::new(&config.url);
        let buffers = Buffers {
            series: Vec::new(),
            by_index: HashMap::new(),
            by_id: HashMap::new(),
            backlog: 0,
            max_backlog: config.max_backlog,
            full_warned: false,
        };
        let mut worker = Worker {
            config,
            keys,
            shared,
            buffers,
            sites: HashMap::new(),
            outbox: VecDeque::new(),
            replay: Vec::new(),
            link,
            written_once: false,
            last_ids: HashMap::new(),
            waiters: Vec::new(),
            next_heartbeat: Instant::now() + HEARTBEAT,
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
                next_write = Instant::now() + self.config.flush_interval;
            }
        }
    }

    /// Takes what every thread queued since the last tick.
    fn drain(&mut self) {
        let shared = Arc::clone(&self.shared);
        shared.lanes.drain(|msg| self.handle(msg));
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
            Msg::Site { site, owner, t, point } => self.site_point(site, owner, t, point),
            Msg::Writes(writes, replay) => {
                if replay {
                    self.replay.extend(writes.iter().cloned());
                }
                writes.into_iter().for_each(|w| self.enqueue(w));
            }
        }
    }

    fn site_point(&mut self, site: &'static SiteSpec, owner: Option<fn() -> &'static str>, t: i64, point: Point) {
        let address = site as *const SiteSpec as usize;
        if !self.sites.contains_key(&address) {
            let state = self.register_site(site, owner, &point);
            self.sites.insert(address, state);
        }
        let Some(state) = self.sites.get_mut(&address) else { return };
        let input = match &point {
            Point::Value(v) => Some(*v),
            Point::Candle(c) => Some(c.close),
            Point::Marker(..) => None,
        };
        for (slot, indicator) in &mut state.indicators {
            if let Some(y) = input.filter(|x| x.is_finite()).and_then(|x| indicator.update(x)) {
                self.buffers.accept(*slot, t, Point::Value(y), &self.shared);
            }
        }
        if let Some(slot) = state.raw {
            self.buffers.accept(slot, t, point, &self.shared);
        }
    }

    /// Creates the series of a site on its first point: the raw value (kind from the attribute,
    /// else from the value's shape) and one line per indicator.
    fn register_site(&mut self, site: &'static SiteSpec, owner: Option<fn() -> &'static str>, first: &Point) -> SiteState {
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
            Point::Candle(_) => Kind::Candlestick,
            Point::Marker(..) => Kind::Marker,
            Point::Value(_) => Kind::Line,
        });
        let raw = if site.raw { register(spec(base.clone(), raw_kind, title.clone())) } else { None };
        let indicators = site
            .indicators
            .iter()
            .filter_map(|ind| {
                let id = format!("{base}.{}", ind.suffix());
                register(spec(id.clone(), Kind::Line, id)).map(|slot| (slot, ind.state()))
            })
            .collect();
        SiteState { raw, indicators }
    }

    /// Manifest, runs index and runlog entry of a starting run (SPEC sections 2 and 5).
    fn queue_start(&mut self) {
        let now = wall_clock();
        let c = &self.config;
        let manifest = [
            ("v", "1".to_owned()),
            ("run", c.run.clone()),
            ("strategy", c.strategy.clone()),
            ("source", c.source.clone()),
            ("language", "rust".to_owned()),
            ("started", now.to_string()),
            ("heartbeat", now.to_string()),
            ("status", "running".to_owned()),
        ];
        let writes = vec![
            Write::hset(self.keys.manifest(), manifest.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
            Write::Zadd { key: self.keys.runs(), score: now / 1_000_000, member: c.run.clone() },
            Write::runlog(&self.keys, &c.run, "start"),
        ];
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
                    Ok(fields) => self.enqueue(Write::Xadd { key: key.clone(), id: StreamId::Next, maxlen: None, fields, points }),
                    // Unreachable for checked points; counted rather than trusted.
                    Err(_) => {
                        self.shared.refused.fetch_add(points, Ordering::Relaxed);
                        self.buffers.backlog -= points as usize;
                    }
                }
            }
        }
    }

    /// One write cycle: seal, (re)connect, write the outbox in pipelines, answer flush waiters.
    fn write(&mut self) {
        self.drain();
        self.seal();
        if Instant::now() >= self.next_heartbeat && self.link.is_up() {
            self.next_heartbeat = Instant::now() + HEARTBEAT;
            let beat = Write::hset(self.keys.manifest(), vec![("heartbeat".to_owned(), wall_clock().to_string())]);
            self.enqueue(beat);
        }
        while !self.outbox.is_empty() {
            match self.link.connect() {
                None => break,
                Some(true) if !self.reconcile() => break,
                Some(_) => {}
            }
            if self.outbox.is_empty() {
                break; // reconciling found everything already written
            }
            let n = self.outbox.len().min(PIPELINE_WRITES);
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            self.outbox.iter().take(n).for_each(|w| w.add_to(&mut pipe));
            let Some(replies) = self.link.query::<Vec<Value>>(&pipe) else { break };
            self.written_once = true;
            for (write, reply) in self.outbox.drain(..n).zip(replies) {
                let points = write.points();
                self.buffers.backlog -= points as usize;
                if let Value::ServerError(e) = reply {
                    // Redis refused this one write (out of memory, a key of another type, ...):
                    // retrying cannot help, so it is dropped and counted.
                    self.shared.dropped.fetch_add(points, Ordering::Relaxed);
                    eprintln!("chartbridge: Redis refused a write ({e:?})");
                } else {
                    self.shared.written.fetch_add(points, Ordering::Relaxed);
                }
            }
        }
        self.shared.connected.store(self.link.is_up(), Ordering::Relaxed);
        if self.outbox.is_empty() {
            self.waiters.drain(..).for_each(|w| {
                let _ = w.send(());
            });
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
            explicit.filter(|k| seen.insert(k.as_str())).cloned().collect()
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
        let (backlog, written) = (&mut self.buffers.backlog, &self.shared.written);
        self.outbox.retain(|w| match w {
            Write::Xadd { key, id, points, .. } if last.get(key.as_str()).is_some_and(|top| id <= top) => {
                *backlog -= *points as usize;
                written.fetch_add(*points, Ordering::Relaxed);
                false
            }
            _ => true,
        });
        if exists == 0 && self.written_once {
            eprintln!("chartbridge: Redis came back without run {}; writing its state again", self.config.run);
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

    /// Ends the run: queues the end writes and keeps writing until the outbox is empty or the
    /// close timeout passes; what is left then is counted as dropped.
    fn close(&mut self) {
        self.shared.lanes.close();
        self.drain();
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
        let lost: u64 = self.outbox.iter().map(Write::points).sum();
        self.shared.dropped.fetch_add(lost, Ordering::Relaxed);
        self.waiters.drain(..).for_each(|w| {
            let _ = w.send(());
        });
    }
}
