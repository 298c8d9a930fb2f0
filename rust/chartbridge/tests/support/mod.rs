//! A private redis-server per test (free port, no persistence, never 6379), killed on drop, and
//! helpers to read back what a run wrote.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chartbridge::Config;
use chartbridge::wire::{Batch, Columns};
use redis::Value;

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    /// More `redis-server` arguments (TLS, ACL users), kept for restarts.
    extra: Vec<String>,
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

impl RedisServer {
    pub fn start() -> RedisServer {
        RedisServer::start_with(&[])
    }

    /// A server with more arguments; `port` stays a plain port for the test's own reads.
    pub fn start_with(extra: &[String]) -> RedisServer {
        let mut server = RedisServer { child: None, port: free_port(), extra: extra.to_vec() };
        server.restart();
        server
    }

    /// Starts (again) on the same port, empty: there is no persistence.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let spawned = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--enable-debug-command", "local"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("redis-server not found: install it with 'sudo apt-get install -y redis-server'");
                std::process::exit(1);
            }
            Err(e) => panic!("cannot start redis-server: {e}"),
        };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(mut con) = self.try_connect() {
                if redis::cmd("PING").query::<String>(&mut con).is_ok() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not start on port {}", self.port);
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends a signal to the server: `STOP` freezes it (a hung Redis: connections are accepted by
    /// the kernel and never answered), `CONT` resumes it.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().expect("kill");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn try_connect(&self) -> Option<redis::Connection> {
        redis::Client::open(self.url()).ok()?.get_connection_with_timeout(Duration::from_millis(200)).ok()
    }

    pub fn connect(&self) -> redis::Connection {
        self.try_connect().expect("a connection to the test redis-server")
    }

    /// A run configuration on this server with a fixed run id and a short flush interval.
    pub fn config(&self, strategy: &str, run: &str) -> Config {
        let mut config = Config::new(strategy);
        config.url = self.url();
        config.prefix = "cbtest".to_owned();
        config.run = run.to_owned();
        config.flush_interval = Duration::from_millis(2);
        config
    }

    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut self.connect()).unwrap();
        keys.sort();
        keys
    }

    pub fn hash(&self, key: &str) -> HashMap<String, String> {
        redis::cmd("HGETALL").arg(key).query(&mut self.connect()).unwrap()
    }

    /// Every entry of a stream, fields in order, values as bytes.
    pub fn stream(&self, key: &str) -> Vec<(String, Vec<(String, Vec<u8>)>)> {
        let entries: Vec<(String, Vec<Vec<u8>>)> = redis::cmd("XRANGE").arg(key).arg("-").arg("+").query(&mut self.connect()).unwrap();
        entries
            .into_iter()
            .map(|(id, flat)| {
                let pairs = flat.chunks(2).map(|kv| (String::from_utf8(kv[0].clone()).unwrap(), kv[1].clone())).collect();
                (id, pairs)
            })
            .collect()
    }

    /// A stream's entries decoded as (type, data JSON) run events.
    pub fn events(&self, key: &str) -> Vec<(String, serde_json::Value)> {
        self.stream(key)
            .into_iter()
            .map(|(_, fields)| {
                let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap();
                (String::from_utf8(get("type")).unwrap(), serde_json::from_slice(&get("data")).unwrap())
            })
            .collect()
    }

    pub fn raw(&self, cmd: &mut redis::Cmd) -> Value {
        cmd.query(&mut self.connect()).unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The times and values of a line series, every entry in stream order.
pub fn line_points(redis: &RedisServer, key: &str) -> (Vec<i64>, Vec<f64>) {
    let (mut t, mut y) = (Vec::new(), Vec::new());
    for (_, fields) in redis.stream(key) {
        let batch = chartbridge::wire::Batch::decode(&fields.into_iter().collect(), None).expect("a valid entry");
        let chartbridge::wire::Columns::Values { y: values } = batch.columns else { panic!("{key} is not a value series") };
        t.extend(batch.t);
        y.extend(values);
    }
    (t, y)
}

/// The series registry of a run (`<prefix>:{run}:series`), each entry's JSON parsed.
pub fn registry(redis: &RedisServer, run: &str) -> HashMap<String, serde_json::Value> {
    let hash = redis.hash(&format!("cbtest:{{{run}}}:series"));
    hash.into_iter().map(|(k, v)| (k, serde_json::from_str(&v).unwrap())).collect()
}

/// Every point of a series: its entries decoded and joined in stream order.
pub fn points(redis: &RedisServer, run: &str, id: &str) -> (Vec<i64>, Columns) {
    let mut t = Vec::new();
    let mut all: Option<Columns> = None;
    for (_, fields) in redis.stream(&format!("cbtest:{{{run}}}:s:{id}")) {
        let batch = Batch::decode(&fields.into_iter().collect(), None).expect("a valid entry");
        t.extend(batch.t);
        let Some(acc) = &mut all else {
            all = Some(batch.columns);
            continue;
        };
        match (acc, batch.columns) {
            (Columns::Values { y }, Columns::Values { y: more }) => y.extend(more),
            (Columns::Candles { o, h, l, c, vol }, Columns::Candles { o: o2, h: h2, l: l2, c: c2, vol: vol2 }) => {
                for (column, more) in [(o, o2), (h, h2), (l, l2), (c, c2)] {
                    column.extend(more);
                }
                if let (Some(vol), Some(more)) = (vol, vol2) {
                    vol.extend(more);
                }
            }
            (Columns::Markers { y, m }, Columns::Markers { y: y2, m: m2 }) => {
                y.extend(y2);
                m.extend(m2);
            }
            _ => panic!("{id}: entries of different shapes"),
        }
    }
    (t, all.unwrap_or_else(|| panic!("no points in {id}")))
}

/// Little-endian f64 column.
pub fn f64s(bytes: &[u8]) -> Vec<f64> {
    bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect()
}

/// Little-endian i64 column.
pub fn i64s(bytes: &[u8]) -> Vec<i64> {
    bytes.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap())).collect()
}

/// Tests that start a run with `chartbridge::start` share the process-wide current run, so they
/// take turns.
pub fn global_run_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
