import { strict as assert } from "node:assert";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collect, query, startTestServer, type TestServer } from "./harness/server.js";

interface PluginReply {
  plugins: { name: string; origin: string; version: number; code: string | null; error: string | null; deleted: boolean };
}
const FOLLOW = "subscription { plugins { name origin version code error deleted } }";

describe("server: plugins bundled with esbuild and announced on save", function () {
  this.timeout(30000);
  let dir: string;
  let builtins: string;
  let t: TestServer;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "cb-plugins-"));
    builtins = mkdtempSync(join(tmpdir(), "cb-builtin-"));
    writeFileSync(join(builtins, "sessions.js"), "export default function setup(){ return { dispose(){} } }\n");
    writeFileSync(join(dir, "first.js"), "export default function setup(ctx){ ctx.log('first v1'); return { dispose(){} } }\n");
    t = await startTestServer({ pluginsDir: dir, builtinPluginsDir: builtins });
  });
  afterEach(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(builtins, { recursive: true, force: true });
  });

  it("lists built-in and workspace plugins, each with its bundled code", async () => {
    const r = await query<{ plugins: { name: string; origin: string; version: number; error: string | null }[] }>(t.ws, "{ plugins { name origin version error } }");
    assert.deepEqual(r.data?.plugins, [
      { name: "first", origin: "workspace", version: 1, error: null },
      { name: "sessions", origin: "builtin", version: 1, error: null },
    ]);
  });

  it("announces a new version on save, keeps the last good code when a build fails, and unloads on delete", async () => {
    const sub = collect<PluginReply>(t.ws, FOLLOW, {});
    await sub.until((xs) => xs.length === 2);
    const file = join(dir, "first.js");

    writeFileSync(file, "export default function setup(ctx){ ctx.log('first v2'); return { dispose(){} } }\n");
    let items = await sub.until((xs) => xs.some((x) => x.plugins.name === "first" && x.plugins.version === 2));
    const v2 = items.find((x) => x.plugins.version === 2)?.plugins;
    assert.match(v2?.code ?? "", /first v2/);
    assert.equal(v2?.error, null);

    // Saving the same text again is no new version: the next change is version 3.
    writeFileSync(file, "export default function setup(ctx){ ctx.log('first v2'); return { dispose(){} } }\n");
    writeFileSync(file, "export default function setup(ctx){ ctx.log('first v3'); return { dispose(){} } }\n");
    items = await sub.until((xs) => xs.some((x) => /first v3/.test(x.plugins.code ?? "")));
    assert.equal(items.find((x) => /first v3/.test(x.plugins.code ?? ""))?.plugins.version, 3);

    writeFileSync(file, "export default function setup(ctx){ ctx.log('broken' ; }\n");
    items = await sub.until((xs) => xs.some((x) => x.plugins.name === "first" && x.plugins.error !== null));
    const broken = items.find((x) => x.plugins.error !== null)?.plugins;
    assert.equal(broken?.version, 3, "a failed build keeps the version");
    assert.match(broken?.code ?? "", /first v3/, "a failed build keeps the last good code");
    assert.match(broken?.error ?? "", /first\.js:1:\d+: Expected "\)" but found ";"/);

    rmSync(file);
    items = await sub.until((xs) => xs.some((x) => x.plugins.deleted));
    assert.equal(items.find((x) => x.plugins.deleted)?.plugins.name, "first");
    const list = await query<{ plugins: { name: string }[] }>(t.ws, "{ plugins { name } }");
    assert.deepEqual(list.data?.plugins.map((p) => p.name), ["sessions"]);
  });

  it("bundles TypeScript with imports, and rebuilds a plugin when a module it imports changes", async () => {
    mkdirSync(join(dir, "lib"));
    writeFileSync(join(dir, "lib", "period.ts"), "export const PERIOD: number = 20;\n");
    const sub = collect<PluginReply>(t.ws, FOLLOW, {});
    writeFileSync(join(dir, "bands.ts"), "import { PERIOD } from './lib/period';\nexport default function setup(ctx: { log(m: string): void }) { ctx.log(`period ${PERIOD}`); return { dispose() {} }; }\n");
    let items = await sub.until((xs) => xs.some((x) => x.plugins.name === "bands" && x.plugins.version === 1));
    assert.match(items.find((x) => x.plugins.name === "bands")?.plugins.code ?? "", /PERIOD = 20/);
    writeFileSync(join(dir, "lib", "period.ts"), "export const PERIOD: number = 50;\n");
    items = await sub.until((xs) => xs.some((x) => x.plugins.name === "bands" && x.plugins.version === 2));
    assert.match(items.find((x) => x.plugins.name === "bands" && x.plugins.version === 2)?.plugins.code ?? "", /PERIOD = 50/);
  });
});
