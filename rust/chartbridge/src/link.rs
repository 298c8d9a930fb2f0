//! The worker's Redis connection: connects lazily (TLS and ACL users as the URL and [`Tls`] say),
//! backs off while Redis is unreachable, and warns once per outage instead of once per failed
//! write. URLs are logged without their password. `redis+cluster://host:port,host:port` (or
//! `rediss+cluster://`) is a Redis Cluster (protocol/SPEC.md section 9).

use std::time::{Duration, Instant};

use redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConnection};
use redis::{Client, ClientTlsConfig, Connection, ErrorKind, FromRedisValue, Pipeline, TlsCertificates, Value};

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

/// One Redis, or a Redis Cluster.
enum Target {
    One(Client),
    Cluster(ClusterClient),
}

enum Con {
    One(Connection),
    Cluster(ClusterConnection),
}

/// The client for `url`, with the TLS files read; an error says which setting is wrong.
fn client(url: &str, tls: &Tls) -> Result<Target, String> {
    let certs = certificates(url, tls)?;
    if let Some((scheme, rest)) = url.split_once("+cluster://") {
        return cluster_client(url, scheme, rest, certs).map(Target::Cluster);
    }
    match certs {
        None => Client::open(url).map_err(|e| format!("invalid Redis URL {} ({e})", redacted(url))),
        Some(certs) => Client::build_with_tls(url, certs).map_err(|e| format!("invalid Redis TLS settings for {} ({e})", redacted(url))),
    }
    .map(Target::One)
}

/// `redis[s]+cluster://[user:password@]host:port,host:port[/0]`: the seed nodes, each a
/// `redis[s]://host:port` URL, with the credentials given to every node.
fn cluster_client(url: &str, scheme: &str, rest: &str, certs: Option<TlsCertificates>) -> Result<ClusterClient, String> {
    let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    if !matches!(path, "" | "/" | "/0") {
        return Err(format!("{}: a Redis Cluster has database 0 only; remove {path:?}", redacted(url)));
    }
    let (userinfo, hosts) = authority.rsplit_once('@').unwrap_or(("", authority));
    let nodes: Vec<String> = hosts.split(',').map(|node| format!("{scheme}://{node}")).collect();
    let mut builder = ClusterClientBuilder::new(nodes).connection_timeout(CONNECT_TIMEOUT).response_timeout(IO_TIMEOUT);
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |s: &str| percent_decode(s).ok_or_else(|| format!("{}: bad %-escape in the user or password", redacted(url)));
    if !user.is_empty() {
        builder = builder.username(decode(user)?);
    }
    if !password.is_empty() {
        builder = builder.password(decode(password)?);
    }
    if let Some(certs) = certs {
        builder = builder.certs(certs);
    }
    builder.build().map_err(|e| format!("invalid Redis Cluster URL {} ({e})", redacted(url)))
}

/// `%XX` escapes of a URL's user and password decoded.
fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// The TLS files read, or None without any; an error says which setting is wrong.
fn certificates(url: &str, tls: &Tls) -> Result<Option<TlsCertificates>, String> {
    if tls == &Tls::default() {
        return Ok(None);
    }
    if !url.starts_with("rediss://") && !url.starts_with("rediss+cluster://") {
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
    Ok(Some(TlsCertificates { client_tls, root_cert }))
}

/// Runs `pipe` on a cluster as a cluster pipeline: each command goes to its key's node (a run's
/// keys share one), in order, following MOVED and ASK. A cluster pipeline cannot ignore errors:
/// a refused command fails the whole answer with each refusal and its index, while the others
/// were executed; they get `OK` in its place (no caller reads a write's reply beyond "not an
/// error"). A slot without a master (`CLUSTERDOWN`, `TRYAGAIN`, `MASTERDOWN`) is an outage: the
/// caller retries everything, and explicit stream IDs keep a resend from doubling an entry.
fn query_cluster<T: FromRedisValue>(pipe: &Pipeline, con: &mut ClusterConnection) -> redis::RedisResult<T> {
    let mut cluster = redis::cluster::cluster_pipe();
    pipe.cmd_iter().for_each(|cmd| {
        cluster.add_command(cmd.clone());
    });
    let replies = match cluster.query::<Vec<Value>>(con) {
        Ok(replies) => replies,
        Err(e) => {
            let whole = e.clone();
            let errors = e.into_server_errors().ok_or_else(|| whole.clone())?;
            if errors.iter().any(|(_, err)| matches!(err.code(), "CLUSTERDOWN" | "TRYAGAIN" | "MASTERDOWN" | "LOADING")) {
                return Err(whole);
            }
            let mut replies = vec![Value::Okay; pipe.cmd_iter().count()];
            for (i, err) in errors.iter() {
                if let Some(reply) = replies.get_mut(*i) {
                    *reply = Value::ServerError(err.clone());
                }
            }
            replies
        }
    };
    redis::from_redis_value(Value::Array(replies)).map_err(redis::RedisError::from)
}

pub(crate) struct Link {
    url: String,
    client: Option<Target>,
    con: Option<Con>,
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
        let attempt = match self.client.as_ref()? {
            Target::One(client) => client.get_connection_with_timeout(CONNECT_TIMEOUT).and_then(|con| {
                con.set_read_timeout(Some(IO_TIMEOUT))?;
                con.set_write_timeout(Some(IO_TIMEOUT))?;
                Ok(Con::One(con))
            }),
            Target::Cluster(client) => client.get_connection().map(Con::Cluster),
        };
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
        let result = match self.con.as_mut()? {
            Con::One(con) => pipe.query(con),
            Con::Cluster(con) => query_cluster(pipe, con),
        };
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

    /// Redis refused a write for want of an ACL permission, or for want of memory (`OOM`): drops
    /// the connection and retries later, as for an outage, so the writes stay queued (within the
    /// backlog bound) while the user fixes the ACL or frees memory.
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
                _ if error.code() == Some("OOM") => {
                    "is full and refuses writes (free memory: delete old runs with `chartbridge gc`, or raise maxmemory)"
                }
                _ => "is unreachable",
            };
            eprintln!("chartbridge: Redis at {} {why} ({error}); keeping a bounded backlog and retrying", self.url);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{percent_decode, redacted};

    #[test]
    fn a_cluster_url_s_user_and_password_are_percent_decoded() {
        assert_eq!(percent_decode("p%40ss").as_deref(), Some("p@ss"));
        assert_eq!(percent_decode("bad%4"), None);
    }

    #[test]
    fn a_logged_url_never_carries_the_password() {
        assert_eq!(redacted("rediss://chart:s3cr@t@redis.example:6380/2"), "rediss://chart:***@redis.example:6380/2");
        assert_eq!(redacted("redis://:only-password@127.0.0.1:6379"), "redis://:***@127.0.0.1:6379");
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
