//! The worker's Redis connection: connects lazily (TLS and ACL users as the URL and [`Tls`] say),
//! backs off while Redis is unreachable, and warns once per outage instead of once per failed
//! write. URLs are logged without their password.

use std::time::{Duration, Instant};

use redis::{Client, ClientTlsConfig, Connection, ErrorKind, FromRedisValue, Pipeline, TlsCertificates};

const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Bounds a write to a Redis that accepted the connection but stopped answering.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// TLS files for a `rediss://` URL (PEM paths). `Config::new` reads them from
/// `CHARTBRIDGE_REDIS_CA`, `CHARTBRIDGE_REDIS_CERT` and `CHARTBRIDGE_REDIS_KEY`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    /// A CA certificate to trust instead of the system's roots (a private CA).
    pub ca: Option<String>,
    /// A client certificate and its key, for Redis set up with `tls-auth-clients yes`.
    pub cert: Option<String>,
    pub key: Option<String>,
}

/// `url` with its password replaced by `***`, for messages.
pub(crate) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or("", |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_owned(),
    }
}

/// The client for `url`, with the TLS files read; an error says which setting is wrong.
fn client(url: &str, tls: &Tls) -> Result<Client, String> {
    if tls == &Tls::default() {
        return Client::open(url).map_err(|e| format!("invalid Redis URL {} ({e})", redacted(url)));
    }
    if !url.starts_with("rediss://") {
        return Err(format!("CHARTBRIDGE_REDIS_CA/CERT/KEY are set but the URL {} is not rediss://", redacted(url)));
    }
    let read = |name: &str, path: &Option<String>| -> Result<Option<Vec<u8>>, String> {
        path.as_ref().map(|p| std::fs::read(p).map_err(|e| format!("cannot read {name} file {p:?} ({e})"))).transpose()
    };
    let root_cert = read("CHARTBRIDGE_REDIS_CA", &tls.ca)?;
    let client_tls = match (read("CHARTBRIDGE_REDIS_CERT", &tls.cert)?, read("CHARTBRIDGE_REDIS_KEY", &tls.key)?) {
        (Some(client_cert), Some(client_key)) => Some(ClientTlsConfig { client_cert, client_key }),
        (None, None) => None,
        _ => return Err("CHARTBRIDGE_REDIS_CERT and CHARTBRIDGE_REDIS_KEY go together: set both or neither".to_owned()),
    };
    Client::build_with_tls(url, TlsCertificates { client_tls, root_cert }).map_err(|e| format!("invalid Redis TLS settings for {} ({e})", redacted(url)))
}

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
    pub(crate) fn new(url: &str, tls: &Tls) -> Link {
        let client = client(url, tls).map_err(|e| eprintln!("chartbridge: {e}; nothing will be written")).ok();
        Link { url: redacted(url), client, con: None, retry_at: Instant::now(), backoff: FIRST_BACKOFF, warned: false }
    }

    pub(crate) fn is_up(&self) -> bool {
        self.con.is_some()
    }

    /// Whether the last attempt to reach Redis failed (and none succeeded since).
    pub(crate) fn in_outage(&self) -> bool {
        self.warned
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
        result.map_err(|e| self.fail(&e)).ok()
    }

    /// Writes were accepted: the outage (if any) is over.
    pub(crate) fn delivered(&mut self) {
        if self.warned {
            eprintln!("chartbridge: Redis at {} takes writes again, resending the backlog", self.url);
        }
        self.warned = false;
        self.backoff = FIRST_BACKOFF;
    }

    /// Redis refused a write for want of an ACL permission: drops the connection and retries
    /// later, as for an outage, so the writes stay queued while the user fixes the ACL.
    pub(crate) fn refused(&mut self, error: &redis::ServerError) {
        self.fail(&redis::RedisError::from(error.clone()));
    }

    fn fail(&mut self, error: &redis::RedisError) {
        self.con = None;
        self.retry_at = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        if !self.warned {
            self.warned = true;
            let why = match error.kind() {
                ErrorKind::AuthenticationFailed => "refused the user name or password",
                ErrorKind::Server(redis::ServerErrorKind::NoPerm) => "refused a command: the ACL user lacks a permission",
                _ => "is unreachable",
            };
            eprintln!("chartbridge: Redis at {} {why} ({error}); keeping a bounded backlog and retrying", self.url);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn a_logged_url_never_carries_the_password() {
        assert_eq!(redacted("rediss://chart:s3cr@t@redis.example:6380/2"), "rediss://chart:***@redis.example:6380/2");
        assert_eq!(redacted("redis://:only-password@127.0.0.1:6379"), "redis://:***@127.0.0.1:6379");
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
