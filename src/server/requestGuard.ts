/**
 * Who may talk to the server: a pure function of a request's Host, Origin, path and token, so the
 * security rules are read (and unit-tested: test/requestGuard.test.ts) in one place, apart from
 * the HTTP and WebSocket plumbing that applies them (app.ts).
 *
 * - Host: against DNS rebinding. A page whose name resolves to 127.0.0.1 reaches the server under
 *   a foreign Host, so only names of this server are accepted: 127.0.0.1, localhost, [::1] and the
 *   bound host with our port, plus the authorities VS Code forwards us under (allowHost, from the
 *   extension host over the IPC channel only its parent holds). Such a forwarded authority is the
 *   user's own VS Code, not a rebinding name, and the token is still required behind it.
 * - Origin, when a browser sent one: any page the user visits may open a WebSocket to localhost;
 *   only our own page's origin may. A forwarded name may be served over TLS (a tunnel, code-server
 *   behind https), so it is accepted as https too; our own names only as http.
 * - Token: every request but GET of the public bundle (the same public code the extension ships;
 *   a module script cannot send a header) carries the per-session token, as `Authorization:
 *   Bearer` or `?token=`, compared in constant time.
 */
import { createHash, timingSafeEqual } from "node:crypto";

export interface GuardPolicy {
  /** The port the server listens on. */
  port: number;
  /** The interface it is bound to. */
  host: string;
  /** Extra authorities (`host[:port]`, lower case) VS Code forwards the server under. */
  extraHosts: ReadonlySet<string>;
  token: string;
  /** Paths anyone may GET without the token. */
  publicPaths: ReadonlySet<string>;
}

/** What the guard reads of a request (node's IncomingMessage has these). */
export interface GuardedRequest {
  method?: string;
  url?: string;
  headers: { host?: string; origin?: string; authorization?: string };
}

export interface Refusal {
  status: 401 | 403;
  reason: string;
}

function sameSecret(given: string | null, token: string): boolean {
  if (given === null) return false;
  // Hashing first gives equal lengths, which timingSafeEqual needs, without leaking the length.
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(token).digest();
  return timingSafeEqual(a, b);
}

function tokenOf(req: GuardedRequest, url: URL): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) return auth.slice("Bearer ".length);
  return url.searchParams.get("token");
}

function allowedHosts(policy: GuardPolicy): Set<string> {
  const { port, host } = policy;
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${host}:${port}`, ...policy.extraHosts]);
}

function allowedOrigins(policy: GuardPolicy): Set<string> {
  return new Set([...allowedHosts(policy)].flatMap((h) => (policy.extraHosts.has(h) ? [`http://${h}`, `https://${h}`] : [`http://${h}`])));
}

/** Why the request is refused, or null when it may go on. */
export function refusal(req: GuardedRequest, policy: GuardPolicy): Refusal | null {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (!allowedHosts(policy).has(req.headers.host ?? "")) return { status: 403, reason: "wrong Host" };
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedOrigins(policy).has(origin)) return { status: 403, reason: "wrong Origin" };
  if (policy.publicPaths.has(url.pathname) && req.method === "GET") return null;
  if (!sameSecret(tokenOf(req, url), policy.token)) return { status: 401, reason: "missing or wrong token" };
  return null;
}
