//! The worker's Redis connection: connects lazily, backs off while Redis is unreachable, and
//! warns once per outage instead of once per failed write.

use std::time::{Duration, Instant};

use redis::{Client, Connection, FromRedisValue, Pipeline};

const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Bounds a write to a Redis that accepted the connection but stopped answering.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

pub(crate) struct Link {
    url: String,
    client: Option<Client>,
    con: Option<Connection>,
    retry_at: Instant,
    backoff: Duration,
    /// Whether the current outage has been reported (reset once a write succeeds).
    warned: bool,
}

impl Link {
    pub(crate) fn new(url: &str) -> Link {
        let client = Client::open(url)
            .map_err(|e| eprintln!("chartbridge: invalid Redis URL {url:?} ({e}); nothing will be written"))
            .ok();
        Link { url: url.to_owned(), client, con: None, retry_at: Instant::now(), backoff: FIRST_BACKOFF, warned: false }
    }

    pub(crate) fn is_up(&self) -> bool {
        self.con.is_some()
    }

    /// Connects if there is no connection and the backoff allows it. `Some(true)` means a new
    /// connection, which the caller must reconcile before writing (Redis may have restarted).
    pub(crate) fn connect(&mut self) -> Option<bool> {
        if self.con.is_some() {
            return Some(false);
        }
        if Instant::now() < self.retry_at {
            return None;
        }
        let attempt = self.client.as_ref()?.get_connection_with_timeout(CONNECT_TIMEOUT).and_then(|con| {
            con.set_read_timeout(Some(IO_TIMEOUT))?;
            con.set_write_timeout(Some(IO_TIMEOUT))?;
            Ok(con)
        });
        match attempt {
            Ok(con) => {
                self.con = Some(con);
                Some(true)
            }
            Err(e) => {
                self.fail(&e);
                None
            }
        }
    }

    /// Runs a pipeline; on failure drops the connection and schedules a retry.
    pub(crate) fn query<T: FromRedisValue>(&mut self, pipe: &Pipeline) -> Option<T> {
        let result = pipe.query(self.con.as_mut()?);
        match result {
            Ok(value) => {
                if self.warned {
                    eprintln!("chartbridge: Redis at {} is reachable again, resending the backlog", self.url);
                }
                self.warned = false;
                self.backoff = FIRST_BACKOFF;
                Some(value)
            }
            Err(e) => {
                self.fail(&e);
                None
            }
        }
    }

    fn fail(&mut self, error: &redis::RedisError) {
        self.con = None;
        self.retry_at = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        if !self.warned {
            self.warned = true;
            eprintln!("chartbridge: Redis at {} is unreachable ({error}); keeping a bounded backlog and retrying", self.url);
        }
    }
}
