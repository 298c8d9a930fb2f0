/**
 * Redis URLs: the one parser and the one redaction every part uses wherever a URL is shown
 * (the server's `redis:` line, logs, the extension's output channel and status bar), so a password
 * in `redis[s]://user:password@host` is never printed (protocol/SPEC.md, "Connecting to Redis").
 */

export interface RedisUrl {
  /** `rediss://`: TLS. */
  tls: boolean;
  host: string;
  port: number;
  db: number;
  /** ACL user; undefined: Redis's `default` user. */
  username?: string;
  password?: string;
  /**
   * `redis+cluster://` or `rediss+cluster://`: a Redis Cluster reached through these seed nodes
   * (the first is `host`/`port`); undefined: one Redis.
   */
  cluster?: { host: string; port: number }[];
}

const SCHEMES = new Set(["redis:", "rediss:"]);
const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\//i;

/**
 * `redis+cluster://[user:password@]host:port,host:port` (or `rediss+cluster://` for TLS): seed
 * nodes of a Redis Cluster, every other node found from them. A cluster has database 0 only.
 */
function parseClusterUrl(url: string, scheme: string): RedisUrl {
  const shown = redactRedisUrl(url);
  const rest = url.slice(scheme.length);
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const path = end < 0 ? "" : rest.slice(end);
  if (path !== "" && path !== "/" && path !== "/0") throw new Error(`${shown}: a Redis Cluster has database 0 only; remove ${JSON.stringify(path)}`);
  const at = authority.lastIndexOf("@");
  const hosts = authority.slice(at + 1).split(",");
  const nodes = hosts.map((node) => {
    const m = /^(\[[^\]]+\]|[^:[\]]+)(?::([0-9]{1,5}))?$/.exec(node);
    const port = m?.[2] === undefined ? 6379 : Number(m[2]);
    if (m === null || port < 1 || port > 65535) throw new Error(`${shown}: ${JSON.stringify(node)} is not a cluster node (host:port, nodes separated by commas)`);
    return { host: m[1].replace(/^\[(.*)\]$/, "$1"), port };
  });
  const userinfo = at < 0 ? "" : authority.slice(0, at);
  const colon = userinfo.indexOf(":");
  const decode = (s: string) => (s === "" ? undefined : decodeURIComponent(s));
  return {
    tls: scheme.toLowerCase().startsWith("rediss"),
    ...nodes[0],
    db: 0,
    username: decode(colon < 0 ? userinfo : userinfo.slice(0, colon)),
    password: colon < 0 ? undefined : decode(userinfo.slice(colon + 1)),
    cluster: nodes,
  };
}

/**
 * Parses `redis[s]://[[user]:password@]host[:port][/db]`, or `redis[s]+cluster://` with seed
 * nodes `host:port,host:port`. Errors name what is wrong and show the URL redacted.
 */
export function parseRedisUrl(url: string): RedisUrl {
  const cluster = CLUSTER_SCHEME.exec(url);
  if (cluster !== null) return parseClusterUrl(url, cluster[0]);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${JSON.stringify(redactRedisUrl(url))} is not a Redis URL (redis://[user:password@]host[:port][/db], or rediss:// for TLS)`);
  }
  if (!SCHEMES.has(parsed.protocol)) throw new Error(`${redactRedisUrl(url)}: a Redis URL starts with redis:// or rediss:// (TLS), or redis+cluster:// for a cluster, not ${parsed.protocol}//`);
  const path = parsed.pathname.replace(/^\//, "");
  const db = path === "" ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0) throw new Error(`${redactRedisUrl(url)}: the database after the host must be a number, not ${JSON.stringify(path)}`);
  const decode = (s: string) => (s === "" ? undefined : decodeURIComponent(s));
  return {
    tls: parsed.protocol === "rediss:",
    host: parsed.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1",
    port: parsed.port === "" ? 6379 : Number(parsed.port),
    db,
    username: decode(parsed.username),
    password: decode(parsed.password),
  };
}

/**
 * The URL with its user name and password replaced by `***` (in `redis://secret@host` the lone
 * name may be the password), and a `password=` query parameter hidden too. Works on any string:
 * a malformed URL (no `scheme://`) loses everything up to its last `@`, since error messages
 * about such strings show them. Pinned by protocol/vectors/redis-urls.json for every language.
 */
export function redactRedisUrl(url: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url)?.[0];
  let out = url;
  if (scheme === undefined) {
    out = url.includes("@") ? `***${url.slice(url.lastIndexOf("@"))}` : url;
  } else {
    const rest = url.slice(scheme.length);
    const end = rest.search(/[/?#]/);
    const authority = end < 0 ? rest : rest.slice(0, end);
    if (authority.includes("@")) out = `${scheme}***${rest.slice(authority.lastIndexOf("@"))}`;
  }
  return out.replace(/([?&]password=)[^&#]*/gi, "$1***");
}
