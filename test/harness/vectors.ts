/** Reads protocol/vectors/ (the conformance vectors every language's tests share). */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const VECTORS_DIR = join(__dirname, "..", "..", "protocol", "vectors");

/** Fields named here are binary columns, written in the vectors as hex. */
export const BINARY_FIELDS = new Set(["t", "y", "o", "h", "l", "c", "vol"]);

export interface Vector<T> {
  name: string;
  body: T;
}

export function readVectors<T>(folder: "valid" | "invalid" | "refused" | "registry" | "series"): Vector<T>[] {
  const dir = join(VECTORS_DIR, folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ""), body: JSON.parse(readFileSync(join(dir, f), "utf8")) as T }));
}

/** The Redis fields of a vector as the bytes Redis would hand back. */
export function fieldBytes(fields: Record<string, string>): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(fields)) {
    out[name] = BINARY_FIELDS.has(name) ? Buffer.from(value, "hex") : Buffer.from(value, "utf8");
  }
  return out;
}

/** A series vector (SPEC section 7): entries of one series and what a reader holds after them. */
export interface SeriesVector {
  description: string;
  kind: string;
  entries: { id: string; fields: Record<string, string> }[];
  /** The JSON form of SPEC section 4 (times in microseconds, NaN as null). */
  stored: Record<string, unknown> & { t: number[] };
  stale: number;
}
