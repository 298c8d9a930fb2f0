/**
 * Series ids made from names (protocol/SPEC.md section 1): the one rule the extension's CodeLens
 * (which predicts the SDK's ids) and the server's Nautilus bus bridge (which names series after
 * bar types and instruments) share with Python's `sanitize_series_id` (python/src/chartbridge/protocol.py).
 */
import { LIMITS } from "./protocol.js";

const VALID = new RegExp(`^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,${LIMITS.maxSeriesIdLength - 1}}$`);

/** `f.<locals>.g` -> `f._locals_.g`: other characters become `_`, cut to 200, `_` first when it must. */
export function sanitizeSeriesId(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_.:/-]/g, "_").slice(0, LIMITS.maxSeriesIdLength);
  return VALID.test(cleaned) ? cleaned : `_${cleaned.slice(0, LIMITS.maxSeriesIdLength - 1)}`;
}
