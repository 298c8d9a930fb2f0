/** The Host/Origin/token rules of src/server/requestGuard.ts, as a pure function (the server applies it to HTTP and WebSocket upgrades alike). */
import { strict as assert } from "node:assert";
import { refusal, type GuardPolicy, type GuardedRequest } from "../src/server/requestGuard.js";

const TOKEN = "s3cret-token";
const policy = (extra: string[] = []): GuardPolicy => ({ port: 4321, host: "127.0.0.1", extraHosts: new Set(extra), token: TOKEN, publicPaths: new Set(["/webview.js"]) });
const req = (headers: GuardedRequest["headers"], url = `/graphql?token=${TOKEN}`, method = "POST"): GuardedRequest => ({ method, url, headers });

describe("server: the request guard (Host, Origin, token)", () => {
  it("lets in a request naming this server with the token, by query or Bearer header", () => {
    assert.equal(refusal(req({ host: "127.0.0.1:4321" }), policy()), null);
    assert.equal(refusal(req({ host: "localhost:4321", authorization: `Bearer ${TOKEN}` }, "/graphql"), policy()), null);
    assert.equal(refusal(req({ host: "[::1]:4321", origin: "http://localhost:4321" }), policy()), null);
  });

  it("refuses a foreign Host (DNS rebinding) before anything else, even with the token", () => {
    assert.deepEqual(refusal(req({ host: "evil.example:4321" }), policy()), { status: 403, reason: "wrong Host" });
    assert.deepEqual(refusal(req({ host: "127.0.0.1:9999" }), policy()), { status: 403, reason: "wrong Host" });
    assert.deepEqual(refusal(req({}), policy()), { status: 403, reason: "wrong Host" });
  });

  it("refuses a page of another origin, and an https origin of our own name", () => {
    assert.deepEqual(refusal(req({ host: "127.0.0.1:4321", origin: "http://evil.example" }), policy()), { status: 403, reason: "wrong Origin" });
    assert.deepEqual(refusal(req({ host: "127.0.0.1:4321", origin: "https://127.0.0.1:4321" }), policy()), { status: 403, reason: "wrong Origin" });
  });

  it("accepts a name VS Code forwards the server under, over http and https, and still wants the token there", () => {
    const forwarded = policy(["cs.example:8080"]);
    assert.equal(refusal(req({ host: "cs.example:8080", origin: "https://cs.example:8080" }), forwarded), null);
    assert.equal(refusal(req({ host: "cs.example:8080", origin: "http://cs.example:8080" }), forwarded), null);
    assert.deepEqual(refusal(req({ host: "cs.example:8080" }, "/graphql"), forwarded), { status: 401, reason: "missing or wrong token" });
    assert.deepEqual(refusal(req({ host: "cs.example:8080" }), policy()), { status: 403, reason: "wrong Host" });
  });

  it("wants the token everywhere but a GET of a public path", () => {
    assert.equal(refusal(req({ host: "127.0.0.1:4321" }, "/webview.js", "GET"), policy()), null);
    assert.deepEqual(refusal(req({ host: "127.0.0.1:4321" }, "/webview.js", "POST"), policy()), { status: 401, reason: "missing or wrong token" });
    assert.deepEqual(refusal(req({ host: "127.0.0.1:4321" }, "/", "GET"), policy()), { status: 401, reason: "missing or wrong token" });
    assert.deepEqual(refusal(req({ host: "127.0.0.1:4321" }, "/graphql?token=s3cret-toke"), policy()), { status: 401, reason: "missing or wrong token" });
    assert.deepEqual(refusal(req({ host: "127.0.0.1:4321", authorization: `Basic ${TOKEN}` }, "/graphql"), policy()), { status: 401, reason: "missing or wrong token" });
  });
});
