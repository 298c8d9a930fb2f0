/** The one redaction and parser of Redis URLs (src/shared/redisUrl.ts), against the vectors every language shares. */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseRedisUrl, redactRedisUrl } from "../src/shared/redisUrl.js";
import { VECTORS_DIR } from "./harness/vectors.js";

const { redact } = JSON.parse(readFileSync(join(VECTORS_DIR, "redis-urls.json"), "utf8")) as { redact: [string, string][] };

describe("Redis URLs: redaction and parsing", () => {
  it("redacts every vector of protocol/vectors/redis-urls.json", () => {
    assert.ok(redact.length >= 10);
    for (const [url, shown] of redact) assert.equal(redactRedisUrl(url), shown, url);
  });

  it("parses user, password, TLS, host, port and database", () => {
    assert.deepEqual(parseRedisUrl("rediss://cb:p%40ss@[::1]:6380/2"), { tls: true, host: "::1", port: 6380, db: 2, username: "cb", password: "p@ss" });
    assert.deepEqual(parseRedisUrl("redis://:pw@redis.example"), { tls: false, host: "redis.example", port: 6379, db: 0, username: undefined, password: "pw" });
  });

  it("parses a cluster's seed nodes, credentials and TLS from redis+cluster:// and rediss+cluster://", () => {
    assert.deepEqual(parseRedisUrl("redis+cluster://10.0.0.1:7000,10.0.0.2:7001,[::1]"), {
      tls: false, host: "10.0.0.1", port: 7000, db: 0, username: undefined, password: undefined,
      cluster: [{ host: "10.0.0.1", port: 7000 }, { host: "10.0.0.2", port: 7001 }, { host: "::1", port: 6379 }],
    });
    assert.deepEqual(parseRedisUrl("rediss+cluster://cb:p%40ss@h1:7000/0"), { tls: true, host: "h1", port: 7000, db: 0, username: "cb", password: "p@ss", cluster: [{ host: "h1", port: 7000 }] });
    assert.throws(() => parseRedisUrl("redis+cluster://u:hunter2@h1:7000/3"), { message: 'redis+cluster://***@h1:7000/3: a Redis Cluster has database 0 only; remove "/3"' });
    assert.throws(() => parseRedisUrl("redis+cluster://h1:7000,,h2:1"), { message: 'redis+cluster://h1:7000,,h2:1: "" is not a cluster node (host:port, nodes separated by commas)' });
    assert.throws(() => parseRedisUrl("redis+cluster://h1:99999"), { message: 'redis+cluster://h1:99999: "h1:99999" is not a cluster node (host:port, nodes separated by commas)' });
  });

  it("says what is wrong with a bad URL, without its password", () => {
    assert.throws(() => parseRedisUrl("http://u:hunter2@h:1/0"), { message: "http://***@h:1/0: a Redis URL starts with redis:// or rediss:// (TLS), or redis+cluster:// for a cluster, not http://" });
    assert.throws(() => parseRedisUrl("redis://u:hunter2@h:1/zero"), { message: 'redis://***@h:1/zero: the database after the host must be a number, not "zero"' });
    assert.throws(() => parseRedisUrl("redis://u:hunter2@h:port/0"), { message: '"redis://***@h:port/0" is not a Redis URL (redis://[user:password@]host[:port][/db], or rediss:// for TLS)' });
  });
});
