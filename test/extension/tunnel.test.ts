/** The host side of the ws/* tunnel, against the real server: graphql-ws frames relayed both ways. */
import { strict as assert } from "node:assert";
import { TunnelRelay, type TunnelTarget } from "../../src/extension/tunnel.js";
import type { HostMessage } from "../../src/shared/webviewProtocol.js";
import { useTestServer, writeRun, lineFields, xadd } from "../harness/server.js";

describe("extension: tunnel relay", () => {
  const t = useTestServer();
  let posted: HostMessage[];
  let relay: TunnelRelay;
  let target: TunnelTarget | null;

  beforeEach(() => {
    posted = [];
    target = { port: t.server.port, token: t.server.token };
    relay = new TunnelRelay(() => target, (m) => posted.push(m));
  });
  afterEach(() => relay.closeAll());

  const next = async (test: (m: HostMessage) => boolean, what: string): Promise<HostMessage> => {
    for (let i = 0; i < 200; i++) {
      const found = posted.find(test);
      if (found !== undefined) {
        posted.splice(posted.indexOf(found), 1);
        return found;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`no ${what}; posted: ${JSON.stringify(posted)}`);
  };
  const frame = (id: number) => async (type: string) =>
    JSON.parse(((await next((m) => m.type === "ws/message" && m.payload.id === id && m.payload.data.includes(`"type":"${type}"`), type)) as { payload: { data: string } }).payload.data) as Record<string, unknown>;

  it("opens the server's socket (ignoring the URL the page names), relays frames, counts live points, closes", async () => {
    await writeRun(t, "r1", { price: { kind: "line" } });
    relay.handle({ type: "ws/open", payload: { id: 7, url: "ws://evil.example/graphql", protocol: "graphql-transport-ws" } });
    const opened = await next((m) => m.type === "ws/opened", "ws/opened");
    assert.deepEqual(opened.payload, { id: 7, protocol: "graphql-transport-ws" });
    const read = frame(7);

    relay.handle({ type: "ws/send", payload: { id: 7, data: JSON.stringify({ type: "connection_init" }) } });
    await read("connection_ack");
    relay.handle({ type: "ws/send", payload: { id: 7, data: JSON.stringify({ id: "q", type: "subscribe", payload: { query: "{ runs { id } }" } }) } });
    assert.deepEqual(((await read("next")).payload as { data: unknown }).data, { runs: [{ id: "r1" }] });

    const sub = 'subscription { batches(run: "r1", series: "price", after: "0-0") { series count lastId points } }';
    relay.handle({ type: "ws/send", payload: { id: 7, data: JSON.stringify({ id: "s", type: "subscribe", payload: { query: sub } }) } });
    await xadd(t, t.keys.series("r1", "price"), lineFields([1n, 2n, 3n].map((n) => n * 1_000_000_000n), [1, 2, 3]));
    await read("next");
    assert.equal(relay.takePoints(), 3, "live points are counted for the status bar");
    assert.equal(relay.takePoints(), 0);

    relay.handle({ type: "ws/close", payload: { id: 7, code: 1000, reason: "bye" } });
    const closed = await next((m) => m.type === "ws/closed", "ws/closed");
    assert.equal((closed.payload as { code: number }).code, 1000);
    assert.equal(relay.open, 0);
  });

  it("closes a gone page's sockets unannounced, so the next page's socket of the same id gets only its own frames", async () => {
    await writeRun(t, "r2", { price: { kind: "line" } });
    const subscribe = async (sub: string) => {
      relay.handle({ type: "ws/open", payload: { id: 1, url: "", protocol: "graphql-transport-ws" } });
      await next((m) => m.type === "ws/opened", "ws/opened");
      relay.handle({ type: "ws/send", payload: { id: 1, data: JSON.stringify({ type: "connection_init" }) } });
      await frame(1)("connection_ack");
      const query = 'subscription { batches(run: "r2", series: "price", after: "$") { count } }';
      relay.handle({ type: "ws/send", payload: { id: 1, data: JSON.stringify({ id: sub, type: "subscribe", payload: { query } }) } });
    };
    await subscribe("old-page");
    relay.closeAll();
    assert.equal(relay.open, 0);
    await subscribe("new-page");
    // The subscription starts with the server's read; points written from now on are live.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await xadd(t, t.keys.series("r2", "price"), lineFields([1_000_000_000n], [1]));
    assert.equal((await frame(1)("next")).id, "new-page");
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(posted, [], "nothing from the old page's socket: no batch, no ws/closed");
  });

  it("answers ws/closed 1006 when no server runs, and a dropped server closes the page's socket", async () => {
    target = null;
    relay.handle({ type: "ws/open", payload: { id: 1, url: "", protocol: "graphql-transport-ws" } });
    assert.deepEqual((await next((m) => m.type === "ws/closed", "ws/closed")).payload, { id: 1, code: 1006, reason: "the Chartbridge server is not running" });

    target = { port: t.server.port, token: "wrong" };
    relay.handle({ type: "ws/open", payload: { id: 2, url: "", protocol: "graphql-transport-ws" } });
    const refused = await next((m) => m.type === "ws/closed", "ws/closed after a refused upgrade");
    assert.equal((refused.payload as { id: number }).id, 2);
  });
});
