/**
 * Finds the charted functions of a Python or Rust source text and the series ids their SDK will
 * publish, by reading decorator lines only: CodeLens runs on every keystroke, so no language server
 * and no full parse. The ids follow the SDKs exactly (python/src/chartbridge/decorators.py and
 * series.py; rust/chartbridge/src/site.rs and worker.rs) so a lens finds the series a run holds.
 * No vscode import: unit-tested in node.
 */

import { sanitizeSeriesId } from "../shared/seriesIds.js";

export type SiteLanguage = "python" | "rust";

export interface ChartSite {
  /** 0-based line of the decorator / attribute (the line the SDK records as the series source). */
  line: number;
  /** The decorated function (or class attribute) name. */
  name: string;
  /** Series ids the SDK derives for this site, the main one first. */
  series: string[];
}

/** The rule lives in src/shared (the server's Nautilus bridge uses it too); re-exported for callers here. */
export { sanitizeSeriesId };

export function findChartSites(text: string, language: SiteLanguage): ChartSite[] {
  return language === "python" ? pythonSites(text) : rustSites(text);
}

// ---------------------------------------------------------------------------------------------
// Python

/** The charting decorators and the series each adds to the base id. */
const PY_DECORATORS = new Set(["chart", "signals", "ema", "sma", "bollinger", "rsi"]);
const PY_DEFAULT_PERIOD: Record<string, number> = { bollinger: 20, rsi: 14 };
/** Any decorator; ours are `@cb.chart(`, `@chartbridge.ema(`, `@chart` (from-imported). */
const PY_DECORATOR = /^(\s*)@\s*([A-Za-z_][\w.]*)\s*(\()?/;
const PY_BLOCK = /^(\s*)(?:async\s+)?(def|class)\s+([A-Za-z_]\w*)/;
/** `fast = cb.series(...)` in a class body. */
const PY_SERIES_ATTR = /^(\s*)([A-Za-z_]\w*)\s*(?::[^=]+)?=\s*(?:cb|chartbridge)\.series\s*\(/;

interface PyCall {
  /** Keyword arguments whose values are literals (strings unquoted). */
  kwargs: Map<string, string>;
  positional: string[];
}

/** Indicator decorators name their outputs `<base>.<label>[.<output>]`. */
function pythonSeries(decorator: string, base: string, call: PyCall): string[] {
  if (decorator === "chart" || decorator === "signals") return [base];
  const period = Number(call.kwargs.get("period") ?? call.positional[0] ?? PY_DEFAULT_PERIOD[decorator]);
  const label = `${base}.${decorator}${period}`;
  const outputs = decorator === "bollinger" ? ["upper", "middle", "lower"].map((o) => `${label}.${o}`) : [label];
  return call.kwargs.get("raw") === "True" ? [...outputs, base] : outputs;
}

function pythonSites(text: string): ChartSite[] {
  const lines = text.split(/\r?\n/);
  const sites: ChartSite[] = [];
  /** Enclosing defs and classes, innermost last, for the qualname. */
  const scopes: { indent: number; name: string; kind: "def" | "class" }[] = [];
  let pending: { line: number; decorator: string; call: PyCall }[] = [];
  const qualname = (name: string) => {
    const parts: string[] = [];
    for (const s of scopes) parts.push(s.name, ...(s.kind === "def" ? ["<locals>"] : []));
    return [...parts, name].join(".");
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*(#|$)/.test(line)) continue;
    const indent = line.length - line.trimStart().length;
    const decorator = PY_DECORATOR.exec(line);
    if (decorator !== null) {
      const { call, end } = readCall(lines, i, decorator[3] === undefined ? -1 : decorator[0].length - 1);
      const name = decorator[2].replace(/^(?:cb|chartbridge)\./, "");
      if (PY_DECORATORS.has(name)) pending.push({ line: i, decorator: name, call });
      i = end;
      continue;
    }
    while (scopes.length > 0 && scopes[scopes.length - 1].indent >= indent) scopes.pop();
    const block = PY_BLOCK.exec(line);
    if (block !== null) {
      const [, , kind, name] = block;
      for (const p of pending) {
        const base = p.call.kwargs.get("name") ?? sanitizeSeriesId(qualname(name));
        sites.push({ line: p.line, name, series: pythonSeries(p.decorator, base, p.call) });
      }
      scopes.push({ indent, name, kind: kind as "def" | "class" });
    } else {
      const attr = PY_SERIES_ATTR.exec(line);
      const owner = scopes[scopes.length - 1];
      if (attr !== null && owner?.kind === "class") {
        const { call, end } = readCall(lines, i, attr[0].length - 1);
        sites.push({ line: i, name: attr[2], series: [call.kwargs.get("name") ?? call.positional[0] ?? sanitizeSeriesId(qualname(attr[2]))] });
        i = end;
      }
    }
    pending = [];
    i = skipTripleQuoted(lines, i);
  }
  return sites;
}

/** A line that opens a triple-quoted string without closing it: skip to its end. */
function skipTripleQuoted(lines: string[], i: number): number {
  const quotes = lines[i].match(/"""|'''/g);
  if (quotes === null || quotes.length % 2 === 0) return i;
  const quote = quotes[0];
  for (let j = i + 1; j < lines.length; j++) if (lines[j].includes(quote)) return j;
  return lines.length;
}

/**
 * Reads the argument list starting at `lines[start][open]` (an opening parenthesis; -1: none) up to
 * its closing parenthesis, possibly lines later. Only literal arguments are kept.
 */
function readCall(lines: string[], start: number, open: number): { call: PyCall; end: number } {
  const call: PyCall = { kwargs: new Map(), positional: [] };
  if (open < 0) return { call, end: start };
  let depth = 0;
  let body = "";
  let end = start;
  outer: for (let i = start; i < lines.length; i++, body += " ") {
    end = i;
    const line = i === start ? lines[i].slice(open) : lines[i];
    let quote: string | null = null;
    for (let c = 0; c < line.length; c++) {
      const ch = line[c];
      if (quote !== null) {
        if (ch === quote) quote = null;
        else if (ch === "\\") body += line[c++];
      } else if (ch === "#") break;
      else if (ch === '"' || ch === "'") quote = ch;
      else if ("([{".includes(ch)) depth++;
      else if (")]}".includes(ch) && --depth === 0) break outer;
      // The outermost parentheses are not part of the arguments.
      if (depth > 1 || (depth === 1 && ch !== "(") || quote !== null) body += ch;
    }
  }
  for (const arg of splitTopLevel(body)) {
    const kw = /^\s*([A-Za-z_]\w*)\s*=\s*(.+?)\s*$/s.exec(arg);
    if (kw !== null) call.kwargs.set(kw[1], literal(kw[2]));
    else if (arg.trim() !== "") call.positional.push(literal(arg.trim()));
  }
  return { call, end };
}

function literal(value: string): string {
  const str = /^[rbuf]?(["'])(.*)\1$/s.exec(value);
  return str === null ? value : str[2];
}

/** Splits on commas outside brackets and strings. */
function splitTopLevel(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let current = "";
  for (let c = 0; c < body.length; c++) {
    const ch = body[c];
    if (quote !== null) {
      if (ch === "\\") current += body[c++];
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if ("([{".includes(ch)) depth++;
    else if (")]}".includes(ch)) depth--;
    else if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
      continue;
    }
    current += ch;
  }
  return [...parts, current];
}

// ---------------------------------------------------------------------------------------------
// Rust

const RUST_ATTR = /^\s*#\[\s*(?:::)?(?:chartbridge::)?chart\b/;
const RUST_FN = /\bfn\s+([A-Za-z_]\w*)/;
/** `impl<T> Trait for Type<T>` / `impl Type`: the type is the last path segment, generics dropped. */
const RUST_IMPL = /^\s*(?:unsafe\s+)?impl\b(?:\s*<[^{]*?>)?\s+(?:[^{]*?\bfor\s+)?(?:&\s*)?([A-Za-z_][\w:]*)/;
/** A receiver: `self`, `mut self`, `&self`, `&'a mut self`, `self: Box<Self>`. */
const RUST_RECEIVER = /\(\s*(?:&\s*(?:'\w+\s+)?)?(?:mut\s+)?self\b/;

/** `#[chart(...)]` arguments: `name = "x"`, `ema = 20`, `raw = true`. */
function rustArgs(attr: string): Map<string, string[]> {
  const args = new Map<string, string[]>();
  for (const m of attr.matchAll(/\b(name|ema|sma|raw)\s*=\s*("(?:[^"\\]|\\.)*"|\w+)/g)) {
    const value = m[2].startsWith('"') ? m[2].slice(1, -1) : m[2];
    args.set(m[1], [...(args.get(m[1]) ?? []), value]);
  }
  return args;
}

function rustSites(text: string): ChartSite[] {
  const lines = text.split(/\r?\n/);
  const depths = braceDepths(lines);
  const sites: ChartSite[] = [];
  /** Open impl blocks: the type and the depth inside its braces. */
  const impls: { type: string; depth: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    while (impls.length > 0 && depths[i] < impls[impls.length - 1].depth) impls.pop();
    const impl = RUST_IMPL.exec(lines[i]);
    if (impl !== null) {
      const segments = impl[1].split("::");
      impls.push({ type: segments[segments.length - 1], depth: depths[i] + 1 });
      continue;
    }
    if (!RUST_ATTR.test(lines[i])) continue;
    // The attribute may span lines; the fn signature follows it, possibly after other attributes.
    let attr = lines[i];
    let j = i;
    while (!/\]\s*$/.test(attr.trim()) && j + 1 < lines.length) attr += ` ${lines[++j]}`;
    let signature = "";
    for (let k = j + 1; k < lines.length && !/[{;]/.test(signature); k++) signature += ` ${lines[k]}`;
    const fn = RUST_FN.exec(signature);
    if (fn === null) continue;
    const args = rustArgs(attr);
    const owner = RUST_RECEIVER.test(signature.slice(fn.index)) ? impls[impls.length - 1]?.type : undefined;
    const base = args.get("name")?.[0] ?? (owner === undefined ? fn[1] : `${owner}.${fn[1]}`);
    const indicators = [...(args.get("ema") ?? []).map((n) => `${base}.ema${n}`), ...(args.get("sma") ?? []).map((n) => `${base}.sma${n}`)];
    const raw = args.has("raw") ? args.get("raw")?.[0] === "true" : indicators.length === 0;
    sites.push({ line: i, name: fn[1], series: raw ? [base, ...indicators] : indicators });
    i = j;
  }
  return sites;
}

/** Brace depth at the start of each line, ignoring braces in strings, chars and comments. */
function braceDepths(lines: string[]): number[] {
  const depths: number[] = [];
  let depth = 0;
  let inBlockComment = false;
  let inString = false;
  for (const line of lines) {
    depths.push(depth);
    for (let c = 0; c < line.length; c++) {
      const ch = line[c];
      if (inBlockComment) {
        if (ch === "*" && line[c + 1] === "/") (inBlockComment = false), c++;
      } else if (inString) {
        if (ch === "\\") c++;
        else if (ch === '"') inString = false;
      } else if (ch === "/" && line[c + 1] === "/") break;
      else if (ch === "/" && line[c + 1] === "*") (inBlockComment = true), c++;
      else if (ch === '"') inString = true;
      else if (ch === "'" && /^'(?:\\.|[^\\'])'/.test(line.slice(c))) c = line.indexOf("'", c + 2);
      else if (ch === "{") depth++;
      else if (ch === "}") depth--;
    }
  }
  return depths;
}
