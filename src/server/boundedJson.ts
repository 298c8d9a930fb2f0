/**
 * JSON read from Redis or given to a mutation, with its nesting bounded (protocol/SPEC.md
 * section 10): JSON.parse accepts any depth, but the value is later serialised to a client by
 * recursive code that overflows the stack around 5,000 levels, which would fail the whole reply.
 */

/** Deepest nesting of arrays and objects accepted in any JSON value (registry, plugins, results, events). */
export const MAX_JSON_DEPTH = 64;

export type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

/** The deepest nesting of `[`/`{` in JSON text, stopping early once over `limit`; string contents are skipped. */
function textDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** Parses JSON text, refusing it (with why) when it is not JSON or nests deeper than MAX_JSON_DEPTH. */
export function parseJson(text: string): Parsed {
  if (textDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) return { ok: false, error: `nested deeper than ${MAX_JSON_DEPTH} levels` };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: `not JSON (${(err as Error).message})` };
  }
}

/** True when a value (e.g. a mutation argument) nests deeper than MAX_JSON_DEPTH; walks without recursion. */
export function tooDeep(value: unknown): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== "object" || v === null) continue;
    if (depth + 1 > MAX_JSON_DEPTH) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}
