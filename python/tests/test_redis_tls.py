"""Redis with TLS and ACL users: a real TLS-only redis-server with certificates made by openssl.

Each refusal (wrong password, user without rights, untrusted CA) is one clear warning without the
password, and the producer keeps every point until the user fixes it (``ACL SETUSER``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import redis
from conftest import VECTORS, read_points

import chartbridge as cb
from chartbridge.producer import redact
from chartbridge.testing import RedisServer

T0 = 1_700_000_000_000_000_000
N = 500
PASSWORD = "s3cret-Pw-9f2c"
# What the Python producer runs (protocol/SPEC.md, "Connecting to Redis"), on its prefix only.
PRODUCER_RIGHTS = ["~chartbridge:*", "+ping", "+xadd", "+hset", "+zadd", "+set", "+exists"]


def add_user(server: RedisServer, name: str, password: str, rules: list[str]) -> None:
    admin = server.admin()
    admin.acl_setuser(name, enabled=True, reset_keys=True, reset_passwords=True, passwords=[f"+{password}"])
    if rules:
        admin.execute_command("ACL", "SETUSER", name, *rules)
    admin.close()


def publish(n: int = N) -> None:
    # It waits up to `timeout` for Redis, then leaves the points in the backlog (and says so).
    cb.publish_points("price", [T0 + i for i in range(n)], [i * 0.25 for i in range(n)], kind="line", timeout=0.5)


def expected(n: int = N) -> tuple[list[int], dict[str, list[float]]]:
    return [T0 + i for i in range(n)], {"y": [i * 0.25 for i in range(n)]}


def configure(url: str, tls_files: Path, **tls: str) -> None:
    cb.configure(url=url, prefix="chartbridge", run="tlsrun", strategy="tls", enabled=True, exit_timeout=0.2,
                 flush_interval=0.005, **({"redis_ca": str(tls_files / "ca.crt")} | tls))


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The producer's warnings about Redis (not publish_points' "did not take ... within")."""
    return [r.getMessage() for r in caplog.records
            if r.name == "chartbridge" and r.levelno >= logging.WARNING and "did not take" not in r.getMessage()]


def test_publishes_over_tls_as_an_acl_user_limited_to_the_prefix(tls_redis: RedisServer, tls_files: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    add_user(tls_redis, "cb", PASSWORD, PRODUCER_RIGHTS)
    configure(tls_redis.url_for("cb", PASSWORD), tls_files)
    publish()
    assert cb.flush(10.0)
    admin = tls_redis.admin()
    assert read_points(admin, "price", "tlsrun") == expected()
    assert warnings(caplog) == []
    with pytest.raises(redis.exceptions.NoPermissionError):  # the user is limited to the prefix indeed
        redis.Redis.from_url(tls_redis.url_for("cb", PASSWORD), ssl_ca_certs=str(tls_files / "ca.crt")).set("x", 1)


@pytest.mark.tls_auth_clients("yes")
def test_a_client_certificate_where_redis_requires_one(tls_redis: RedisServer, tls_files: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    add_user(tls_redis, "cb", PASSWORD, PRODUCER_RIGHTS)
    configure(tls_redis.url_for("cb", PASSWORD), tls_files, redis_cert=str(tls_files / "client.crt"),
              redis_key=str(tls_files / "client.key"))
    publish()
    assert cb.flush(10.0)
    assert read_points(tls_redis.admin(), "price", "tlsrun") == expected()


def test_wrong_password_warns_once_and_loses_nothing_once_fixed(tls_redis: RedisServer, tls_files: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    add_user(tls_redis, "cb", "the-right-one", PRODUCER_RIGHTS)
    configure(tls_redis.url_for("cb", PASSWORD), tls_files)
    publish()
    assert not cb.flush(1.0)
    assert cb.stats()["backlog"] == N
    shown = f"rediss://***@127.0.0.1:{tls_redis.port}/0"
    assert warnings(caplog) == [
        f"chartbridge: Redis at {shown} refused the user name or password: invalid username-password pair or user "
        "is disabled. (check user:password in the Redis URL); charting goes on into a backlog of at most 1000000 "
        "points (oldest dropped beyond) and is resent once Redis takes it"]
    tls_redis.admin().execute_command("ACL", "SETUSER", "cb", f">{PASSWORD}")  # the user fixes it
    assert cb.flush(10.0)
    assert read_points(tls_redis.admin(), "price", "tlsrun") == expected()
    assert cb.stats()["dropped"] == 0
    assert PASSWORD not in caplog.text


def test_user_without_rights_warns_once_and_loses_nothing_once_granted(tls_redis: RedisServer, tls_files: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    add_user(tls_redis, "cb", PASSWORD, ["~other:*", "+ping", "+xadd", "+hset", "+zadd", "+set", "+exists"])
    configure(tls_redis.url_for("cb", PASSWORD), tls_files)
    publish()
    assert not cb.flush(1.0)
    assert cb.stats()["backlog"] == N
    [warning] = warnings(caplog)
    assert warning.startswith(f"chartbridge: the Redis user at rediss://***@127.0.0.1:{tls_redis.port}/0 lacks a "
                              "permission the producer needs: NOPERM ")
    assert "protocol/SPEC.md, \"Connecting to Redis\"" in warning
    tls_redis.admin().execute_command("ACL", "SETUSER", "cb", "~chartbridge:*")  # the user fixes it
    assert cb.flush(10.0)
    assert read_points(tls_redis.admin(), "price", "tlsrun") == expected()
    assert cb.stats()["dropped"] == 0
    assert PASSWORD not in caplog.text


def test_untrusted_ca_is_one_clear_tls_warning(tls_redis: RedisServer, tls_files: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    add_user(tls_redis, "cb", PASSWORD, PRODUCER_RIGHTS)
    configure(tls_redis.url_for("cb", PASSWORD), tls_files, redis_ca=str(tls_files / "other-ca.crt"))
    publish()
    assert not cb.flush(1.0)
    [warning] = warnings(caplog)
    assert warning.startswith(f"chartbridge: TLS with Redis at rediss://***@127.0.0.1:{tls_redis.port}/0 failed: "
                              "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in "
                              "certificate chain")
    assert cb.stats()["backlog"] == N
    assert PASSWORD not in caplog.text


def test_tls_settings_that_cannot_work_are_refused_by_configure(tls_files: Path) -> None:
    with pytest.raises(ValueError, match=r"^redis_ca given, but the Redis URL redis://\*\*\*@127.0.0.1:1/0 is not "
                                         r"TLS: use rediss://$"):
        cb.configure(url=f"redis://cb:{PASSWORD}@127.0.0.1:1/0", redis_ca=str(tls_files / "ca.crt"))
    with pytest.raises(ValueError, match=r"^a client certificate needs both redis_cert and redis_key; only "
                                         r"redis_cert is given$"):
        cb.configure(url="rediss://127.0.0.1:1/0", redis_cert=str(tls_files / "client.crt"))
    with pytest.raises(ValueError, match=r"^cannot read the Redis TLS file '/no/such/ca.crt' \(redis_ca / "
                                         r"CHARTBRIDGE_REDIS_CA\)$"):
        cb.configure(url="rediss://127.0.0.1:1/0", redis_ca="/no/such/ca.crt")


def test_redacts_every_vector_of_redis_urls_json() -> None:
    vectors = json.loads((VECTORS / "redis-urls.json").read_text())["redact"]
    assert len(vectors) >= 10
    assert [redact(url) for url, _ in vectors] == [shown for _, shown in vectors]
