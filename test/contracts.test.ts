/**
 * The contracts between the parts, checked where they are written twice: every GraphQL document a
 * client sends against the server's schema, the series kinds of TypeScript, Python, Rust, the
 * schema and the snippets against src/shared/protocol.ts, and the plugin-name rule of the New
 * Plugin command against the files the server loads.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { minVersion, satisfies } from "semver";
import { buildSchema, GraphQLEnumType, parse, validate, type GraphQLSchema } from "graphql";
import { OPERATIONS, runEventOf } from "../src/shared/api.js";
import { pluginNameProblem, RUN_STATUSES, SERIES_KINDS } from "../src/shared/protocol.js";
import { typeDefs } from "../src/server/schema.js";
import { query, startTestServer } from "./harness/server.js";

const ROOT = join(__dirname, "..");
const schema: GraphQLSchema = buildSchema(typeDefs);

/** The schema's complaints about a document (empty: it is valid). */
function problems(document: string): string[] {
  return validate(schema, parse(document)).map((e) => e.message);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/**
 * String literals that open like a GraphQL operation: `query(`/`mutation {`/`subscription Name {`,
 * or a bare selection `{ field {` / `{ field(`.
 */
const GRAPHQL_LITERAL = /["'`]\s*(?:(?:query|mutation|subscription)(?:\s+\w+)?\s*[({]|\{\s*\w+\s*[({])/g;

const sorted = (xs: Iterable<string>) => [...xs].sort();

describe("contracts: one definition per boundary, checked across parts", () => {
  describe("GraphQL operations", () => {
    it("validates every operation of src/shared/api.ts against the server's schema", () => {
      const invalid = Object.entries(OPERATIONS).flatMap(([name, op]) => problems(op.document).map((m) => `${name}: ${m}`));
      assert.deepEqual(invalid, []);
    });

    it("finds a selected field the schema does not have (the check above can fail)", () => {
      assert.deepEqual(problems("{ runs { id strategy nope } }"), ['Cannot query field "nope" on type "Run".']);
      assert.deepEqual(problems("query($run: ID!) { run(id: $run) { series { id count } } }"), []);
    });

    it("finds no GraphQL document in src/ outside OPERATIONS", () => {
      const api = join(ROOT, "src", "shared", "api.ts");
      const outside: string[] = [];
      for (const file of sourceFiles(join(ROOT, "src"))) {
        if (file === api || file.endsWith(join("server", "schema.ts"))) continue;
        for (const m of readFileSync(file, "utf8").matchAll(GRAPHQL_LITERAL)) outside.push(`${relative(ROOT, file)}: ${m[0]}`);
      }
      assert.deepEqual(outside, [], "send operations through src/shared/api.ts OPERATIONS, where this test validates them");
      // And every document in api.ts is an entry of OPERATIONS (none built beside it).
      const written = [...readFileSync(api, "utf8").matchAll(/\boperation</g)].length;
      assert.equal(written, Object.keys(OPERATIONS).length);
    });
  });

  describe("run events", () => {
    it("types an event by its type once, at the server, and says why one does not fit", () => {
      assert.deepEqual(runEventOf("r", "plugin", { name: "bollinger", enabled: true }, "1-0"), { run: "r", type: "plugin", data: { name: "bollinger", enabled: true, params: {} }, id: "1-0" });
      assert.deepEqual(runEventOf("r", "publish", { topic: "signals", payload: [1, 2] }, "1-1"), { run: "r", type: "publish", data: { topic: "signals", payload: [1, 2] }, id: "1-1" });
      assert.equal(runEventOf("r", "plugin", { name: "bollinger" }, "1-2"), "plugin event without a string name and a boolean enabled");
      assert.equal(runEventOf("r", "series", { id: 7 }, "1-3"), "series event without a string id");
      assert.equal(runEventOf("r", "publish", [], "1-4"), "data is not a JSON object");
      assert.equal(runEventOf("r", "bogus", {}, "1-5"), 'unknown type "bogus"');
    });
  });

  describe("series kinds and run statuses", () => {
    const enumValues = (name: string) => (schema.getType(name) as GraphQLEnumType).getValues().map((v) => v.name);

    it("gives the schema's SeriesKind and RunStatus enums exactly protocol.ts's lists", () => {
      assert.deepEqual(enumValues("SeriesKind"), [...SERIES_KINDS]);
      assert.deepEqual(enumValues("RunStatus"), [...RUN_STATUSES]);
    });

    it("has Python's kind sets cover exactly protocol.ts's kinds", () => {
      const script = "import json; from chartbridge import protocol as p; print(json.dumps([sorted(p.KINDS), sorted(p.VALUE_KINDS), sorted(p.CANDLE_KINDS)]))";
      const [kinds, valueKinds, candleKinds] = JSON.parse(execFileSync(join(ROOT, ".venv", "bin", "python"), ["-c", script], { encoding: "utf8" })) as string[][];
      assert.deepEqual(kinds, sorted(SERIES_KINDS));
      assert.deepEqual(sorted([...valueKinds, ...candleKinds, "marker"]), sorted(SERIES_KINDS), "every kind but marker is a value kind or a candle kind");
    });

    it("has Rust's Kind (wire.rs) and #[chart]'s kinds (chartbridge-macros) be protocol.ts's kinds", () => {
      const wire = readFileSync(join(ROOT, "rust", "chartbridge", "src", "wire.rs"), "utf8");
      // Kind::as_str's arms, the only `Kind::X => "x"` lines.
      assert.deepEqual(sorted([...wire.matchAll(/Kind::\w+ => "(\w+)"/g)].map((m) => m[1])), sorted(SERIES_KINDS));
      const all = /pub const ALL: \[Kind; (\d+)\]/.exec(wire);
      assert.equal(Number(all?.[1]), SERIES_KINDS.length, "Kind::ALL lists every kind");
      const macros = readFileSync(join(ROOT, "rust", "chartbridge-macros", "src", "args.rs"), "utf8");
      const chartKinds = /const KINDS: \[&str; \d+\] = \[([^\]]*)\]/.exec(macros)?.[1] ?? "";
      // #[chart] charts values and candles; markers come from chartbridge::marker.
      assert.deepEqual(sorted([...chartKinds.matchAll(/"(\w+)"/g)].map((m) => m[1])), sorted(SERIES_KINDS.filter((k) => k !== "marker")));
    });

    it("offers the decorator snippets every kind but marker", () => {
      for (const file of ["python.json", "rust.json"]) {
        const text = readFileSync(join(ROOT, "snippets", file), "utf8");
        const choices = /\$\{1\|([a-z,]+)\|\}/.exec(text)?.[1].split(",") ?? [];
        assert.deepEqual(sorted(choices), sorted(SERIES_KINDS.filter((k) => k !== "marker")), file);
      }
    });
  });

  describe("plugin names", () => {
    it("refuses in the New Plugin command, with the reason, a name whose file the server ignores", () => {
      assert.equal(pluginNameProblem("-foo"), "a plugin name starts with an ASCII letter, a digit or _");
      assert.equal(pluginNameProblem(""), "a plugin name has 1 to 64 characters");
      assert.equal(pluginNameProblem("a".repeat(65)), "a plugin name has 1 to 64 characters");
      assert.equal(pluginNameProblem("my plugin"), "a plugin name has ASCII letters, digits, _, . and - only");
      assert.equal(pluginNameProblem("my-plugin"), null);
    });

    it("accepts exactly the names of the files the server loads", async function () {
      this.timeout(30000);
      const names = ["my-plugin", "_x", "v1.2", "a".repeat(64), "-foo", ".hidden", "a".repeat(65), "two words", "ünï"];
      const dir = mkdtempSync(join(tmpdir(), "cb-names-"));
      for (const name of names) writeFileSync(join(dir, `${name}.js`), "export default function setup(){ return { dispose(){} } }\n");
      const t = await startTestServer({ pluginsDir: dir });
      try {
        const r = await query<{ plugins: { name: string }[] }>(t.ws, "{ plugins { name } }");
        assert.deepEqual(sorted((r.data?.plugins ?? []).map((p) => p.name)), sorted(names.filter((n) => pluginNameProblem(n) === null)));
        assert.equal(r.data?.plugins.length, 4);
      } finally {
        await t.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("the declared Node range", () => {
    /** Every installed package's own engines.node, by path (nested copies included). */
    function engines(dir: string): [string, string][] {
      return readdirSync(dir).flatMap((name): [string, string][] => {
        const path = join(dir, name);
        if (name.startsWith(".") || !statSync(path).isDirectory()) return [];
        if (name.startsWith("@")) return engines(path);
        const manifest = join(path, "package.json");
        const own: [string, string][] = [];
        try {
          const node = (JSON.parse(readFileSync(manifest, "utf8")) as { engines?: { node?: string } }).engines?.node;
          if (node) own.push([relative(ROOT, path), node]);
        }
        catch { /* a folder without a manifest (a package's own subfolder) declares nothing */ }
        const nested = join(path, "node_modules");
        return [...own, ...(statSync(nested, { throwIfNoEntry: false })?.isDirectory() ? engines(nested) : [])];
      });
    }

    it("is accepted by every installed package, from its lowest version on (npm warns EBADENGINE otherwise)", () => {
      const declared = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { engines: { node: string } }).engines.node;
      const lowest = minVersion(declared)!.version;
      const found = engines(join(ROOT, "node_modules"));
      assert.ok(found.length > 50, `read ${found.length} packages' engines`);
      assert.deepEqual(found.filter(([, range]) => !satisfies(lowest, range)).map(([path, range]) => `${path} wants node ${range}`), []);
    });
  });
});
