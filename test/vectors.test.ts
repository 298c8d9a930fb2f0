import { strict as assert } from "node:assert";
import { decodeEntry, type DecodedBatch } from "../src/shared/decode.js";
import { isSeriesKind, type ErrorCode, type SeriesKind } from "../src/shared/protocol.js";
import { fieldBytes, readVectors } from "./harness/vectors.js";
import { parseRegistryEntry } from "../src/server/runCatalog.js";
import { declaredFormat } from "../src/webview/format.js";

interface ValidVector {
  series: { kind: SeriesKind };
  fields: Record<string, string>;
  decoded: Record<string, unknown> & { kind: string; t: string[] };
}
interface InvalidVector {
  registered?: SeriesKind;
  fields: Record<string, string>;
  error: ErrorCode;
}

function decodedForm(batch: DecodedBatch): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: batch.kind, t: Array.from({ length: batch.n }, (_, i) => batch.timeNs(i).toString()) };
  for (const name of ["y", "o", "h", "l", "c", "vol"] as const) {
    const col = batch[name];
    if (col) out[name] = Array.from(col, (v) => (Number.isNaN(v) ? null : v));
  }
  if (batch.m) out.m = batch.m;
  return out;
}

describe("protocol vectors (protocol/vectors)", () => {
  const valid = readVectors<ValidVector>("valid");
  const invalid = readVectors<InvalidVector>("invalid");

  it("has vectors to read", () => {
    assert.ok(valid.length >= 10, `only ${valid.length} valid vectors`);
    assert.ok(invalid.length >= 30, `only ${invalid.length} invalid vectors`);
  });

  for (const { name, body } of valid) {
    it(`decodes valid/${name} exactly`, () => {
      assert.ok(isSeriesKind(body.series.kind));
      const result = decodeEntry(fieldBytes(body.fields), body.series.kind);
      assert.ok(result.ok, result.ok ? "" : `${result.error.code}: ${result.error.message}`);
      assert.deepEqual(decodedForm(result.batch), body.decoded);
      // The JSON hop carries floor(ns / 1000) microseconds, exactly.
      assert.deepEqual(Array.from(result.batch.tUs), body.decoded.t.map((ns) => Number(BigInt(ns) / 1000n)));
    });
  }

  for (const { name, body } of invalid) {
    it(`rejects invalid/${name} with ${body.error}`, () => {
      const result = decodeEntry(fieldBytes(body.fields), body.registered);
      assert.equal(result.ok, false, "the entry was accepted");
      if (!result.ok) {
        assert.equal(result.error.code, body.error, result.error.message);
        assert.ok(result.error.message.length > 0);
      }
    });
  }

  it("decodes columns at any byte offset (Redis replies share one buffer)", () => {
    const body = valid.find((v) => v.name === "candlestick-basic")?.body as ValidVector;
    const shifted: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(fieldBytes(body.fields))) shifted[k] = Buffer.concat([Buffer.alloc(3), v]).subarray(3);
    const result = decodeEntry(shifted, "candlestick");
    assert.ok(result.ok);
    if (result.ok) assert.deepEqual(decodedForm(result.batch), body.decoded);
  });

  // Registry vectors (SPEC section 7): the options an SDK writes for precision=, min_move=, unit=;
  // the server hands them on as written and the chart reads the number format they state.
  for (const { name, body } of readVectors<RegistryVector>("registry")) {
    it(`reads the number format of registry/${name}`, () => {
      const { id, kind, precision, min_move: minMove, unit } = body.series;
      const info = parseRegistryEntry(id, JSON.stringify({ kind, pane: "main", title: id, options: body.options, source: null }));
      assert.ok(typeof info !== "string", String(info));
      assert.deepEqual(info.options, body.options);
      const format = declaredFormat(info.options);
      assert.deepEqual(format, precision === undefined ? null : { precision, minMove: minMove ?? Number(`1e-${precision}`), unit: unit ?? "" });
    });
  }
});

interface RegistryVector {
  series: { id: string; kind: SeriesKind; precision?: number; min_move?: number; unit?: string; options?: Record<string, unknown> };
  options: Record<string, unknown>;
}
