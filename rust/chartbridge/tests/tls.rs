//! The publisher against a real redis-server with TLS (`--tls-port`, certificates made here with
//! `openssl`: a private CA, a server and a client certificate) and an ACL user limited to the
//! test prefix and the commands the publisher uses. A wrong password or a missing right keeps
//! every point queued until the user fixes it.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chartbridge::{Config, Kind, Point, Publisher, SeriesSpec, Tls};
use support::{RedisServer, free_port, line_points};

const T0: i64 = 1_700_000_000_000_000_000;
/// What the publisher sends: connection setup, its writes, and the reads of a reconnect.
const RIGHTS: &str = "+@connection +xadd +hset +zadd +set +exists +xrevrange";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, in a fresh directory.
fn certificates(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chartbridge-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    openssl(&dir, &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA", "-keyout", "ca.key", "-out", "ca.crt"]);
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    for who in ["server", "client"] {
        let (key, csr, crt) = (format!("{who}.key"), format!("{who}.csr"), format!("{who}.crt"));
        openssl(&dir, &["req", "-newkey", "rsa:2048", "-nodes", "-subj", &format!("/CN={who}"), "-keyout", &key, "-out", &csr]);
        openssl(&dir, &["x509", "-req", "-in", &csr, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", &crt]);
    }
    dir
}

/// A TLS server (client certificates required) whose ACL user `chart` has `password` and `rights`.
fn tls_server(certs: &Path, tls_port: u16, password: &str, rights: &str) -> RedisServer {
    let path = |f: &str| certs.join(f).to_string_lossy().into_owned();
    let mut args: Vec<String> = ["--tls-port", &tls_port.to_string(), "--tls-cert-file", &path("server.crt"), "--tls-key-file", &path("server.key")]
        .map(String::from)
        .to_vec();
    args.extend(["--tls-ca-cert-file".to_owned(), path("ca.crt"), "--tls-auth-clients".to_owned(), "yes".to_owned()]);
    args.extend(["--user", "chart", "on", &format!(">{password}"), "~cbtest:*"].map(String::from));
    args.extend(rights.split(' ').map(String::from));
    RedisServer::start_with(&args)
}

fn config(redis: &RedisServer, certs: &Path, tls_port: u16, password: &str, run: &str) -> Config {
    let mut config = redis.config("Tls", run);
    config.url = format!("rediss://chart:{password}@127.0.0.1:{tls_port}");
    let path = |f: &str| Some(certs.join(f).to_string_lossy().into_owned());
    config.tls = Tls { ca: path("ca.crt"), cert: path("client.crt"), key: path("client.key") };
    config
}

fn add(run: &Publisher, range: std::ops::Range<i64>) {
    let series = run.series(SeriesSpec::new("x", Kind::Line)).unwrap();
    for i in range {
        series.add_at(T0 + i, Point::Value(i as f64 / 4.0)).unwrap();
    }
}

fn assert_exact(redis: &RedisServer, run: &str, n: i64) {
    let (t, y) = line_points(redis, &format!("cbtest:{{{run}}}:s:x"));
    assert_eq!(t, (0..n).map(|i| T0 + i).collect::<Vec<_>>());
    assert_eq!(y, (0..n).map(|i| i as f64 / 4.0).collect::<Vec<_>>());
}

#[test]
fn tls_with_a_private_ca_a_client_certificate_and_an_acl_user_delivers_every_point() {
    let certs = certificates("ok");
    let tls_port = free_port();
    let redis = tls_server(&certs, tls_port, "s3cret", RIGHTS);
    let run = Publisher::start(config(&redis, &certs, tls_port, "s3cret", "tls")).unwrap();
    add(&run, 0..1_000);
    assert!(run.flush(Duration::from_secs(10)));
    run.close();
    assert_exact(&redis, "tls", 1_000);
    assert_eq!(redis.hash("cbtest:{tls}:manifest")["status"], "ended");
    assert_eq!((run.stats().written, run.stats().dropped), (1_000, 0));
}

#[test]
fn a_wrong_password_keeps_every_point_until_the_user_fixes_it() {
    let certs = certificates("password");
    let tls_port = free_port();
    let redis = tls_server(&certs, tls_port, "right", RIGHTS);
    let run = Publisher::start(config(&redis, &certs, tls_port, "wrong", "password")).unwrap();
    add(&run, 0..500);
    assert!(!run.flush(Duration::from_millis(500)), "Redis refuses the password");
    assert!(!run.stats().connected);
    // The user fixes it: the ACL user gets the password the strategy uses.
    redis.raw(redis::cmd("ACL").arg("SETUSER").arg("chart").arg(">wrong"));
    assert!(run.flush(Duration::from_secs(10)));
    assert_exact(&redis, "password", 500);
    assert_eq!((run.stats().written, run.stats().dropped), (500, 0));
}

#[test]
fn a_user_without_a_right_keeps_every_point_until_it_is_granted() {
    let certs = certificates("rights");
    let tls_port = free_port();
    let redis = tls_server(&certs, tls_port, "s3cret", &RIGHTS.replace(" +xadd", ""));
    let run = Publisher::start(config(&redis, &certs, tls_port, "s3cret", "rights")).unwrap();
    add(&run, 0..500);
    assert!(!run.flush(Duration::from_millis(500)), "XADD is refused with NOPERM");
    redis.raw(redis::cmd("ACL").arg("SETUSER").arg("chart").arg("+xadd"));
    assert!(run.flush(Duration::from_secs(10)));
    assert_exact(&redis, "rights", 500);
    assert_eq!((run.stats().written, run.stats().dropped), (500, 0));
}

#[test]
fn a_certificate_from_another_ca_is_refused_and_nothing_is_written() {
    let (certs, other) = (certificates("ca"), certificates("other-ca"));
    let tls_port = free_port();
    let redis = tls_server(&certs, tls_port, "s3cret", RIGHTS);
    let mut config = config(&redis, &certs, tls_port, "s3cret", "wrongca");
    config.tls.ca = Some(other.join("ca.crt").to_string_lossy().into_owned());
    let run = Publisher::start(config).unwrap();
    add(&run, 0..10);
    assert!(!run.flush(Duration::from_millis(500)), "the server's certificate is not trusted");
    assert!(!run.stats().connected);
    assert!(redis.keys().is_empty());
}
