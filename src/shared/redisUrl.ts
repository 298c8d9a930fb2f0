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
}

const SCHEMES = new Set(["redis:", "rediss:"]);

/**
 * Parses `redis[s]://[[user]:password@]host[:port][/db]`. Errors name what is wrong and show the
 * URL redacted.
 */
export function parseRedisUrl(url: string): RedisUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${JSON.stringify(redactRedisUrl(url))} is not a Redis URL (redis://[user:password@]host[:port][/db], or rediss:// for TLS)`);
  }
  if (!SCHEMES.has(parsed.protocol)) throw new Error(`${redactRedisUrl(url)}: a Redis URL starts with redis:// or rediss:// (TLS), not ${parsed.protocol}//`);
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
