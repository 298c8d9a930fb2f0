/**
 * Debug by bar: where a "Break Here on Next Run" / "Run to This Bar" breakpoint goes (the first body
 * line of the charted function that made a series) and its condition (true exactly at one event
 * time, by the debug cursor's time rule). No vscode import: unit-tested in node; debugCursor.ts
 * turns these into VS Code breakpoints.
 */
import { findChartSites, type SiteLanguage } from "./chartSites.js";

/** A breakpoint location: 0-based line and the charted function's name. */
export interface BreakTarget {
  line: number;
  /** 0-based line of its decorator / attribute (the series' recorded source). */
  site: number;
  name: string;
}

export function languageOf(file: string): SiteLanguage | null {
  return /\.pyi?$/.test(file) ? "python" : /\.rs$/.test(file) ? "rust" : null;
}

/**
 * The first body line of the charted function whose decorator (or attribute) is on `siteLine`
 * (0-based, the line the SDK records as the series' source). Errors say what was not found where.
 */
export function breakTarget(text: string, language: SiteLanguage, siteLine: number, file = "the source"): BreakTarget {
  const site = findChartSites(text, language).find((s) => s.line === siteLine);
  if (site === undefined) throw new Error(`no @chart / #[chart] function at ${file}:${siteLine + 1} (the file changed since the run?)`);
  const lines = text.split(/\r?\n/);
  const line = language === "python" ? pythonBody(lines, siteLine) : rustBody(lines, siteLine);
  if (line === null) throw new Error(`${site.name} at ${file}:${siteLine + 1} is not a function with a body (a series attribute has no line to stop on)`);
  return { line, site: siteLine, name: site.name };
}

/** The charted function whose body holds `line` (0-based): Step to Next Bar stops at its next call. */
export function enclosingTarget(text: string, language: SiteLanguage, line: number): BreakTarget | null {
  const lines = text.split(/\r?\n/);
  let found: BreakTarget | null = null;
  for (const site of findChartSites(text, language)) {
    const body = language === "python" ? pythonBody(lines, site.line) : rustBody(lines, site.line);
    if (body === null || body > line) continue;
    const end = language === "python" ? pythonEnd(lines, body) : rustEnd(lines, body);
    if (line <= end) found = { line: body, site: site.line, name: site.name };
  }
  return found;
}

const blankOrComment = (text: string, comment: string) => text.trim() === "" || text.trim().startsWith(comment);

function pythonBody(lines: string[], siteLine: number): number | null {
  if (/^\s*[A-Za-z_]\w*\s*(?::[^=]+)?=/.test(lines[siteLine])) return null;
  let i = siteLine;
  while (i < lines.length && !/^\s*(?:async\s+)?def\b/.test(lines[i])) i++;
  // The signature ends at the ':' outside brackets (it may span lines).
  let depth = 0;
  for (; i < lines.length; i++) {
    const code = lines[i].replace(/#.*$/, "");
    for (const ch of code) depth += "([{".includes(ch) ? 1 : ")]}".includes(ch) ? -1 : 0;
    if (depth === 0 && /:\s*$/.test(code)) break;
  }
  for (i++; i < lines.length && blankOrComment(lines[i], "#"); i++);
  // A docstring is no statement a debugger stops on: the line after it.
  const doc = /^\s*[rRuU]?("""|''')/.exec(lines[i] ?? "");
  if (doc !== null) {
    const rest = lines[i].trim().slice(doc[0].trim().length);
    if (!rest.includes(doc[1])) while (i + 1 < lines.length && !lines[++i].includes(doc[1]));
    for (i++; i < lines.length && blankOrComment(lines[i], "#"); i++);
  } else if (/^\s*[rRuU]?["']/.test(lines[i] ?? "")) {
    for (i++; i < lines.length && blankOrComment(lines[i], "#"); i++);
  }
  return i < lines.length ? i : null;
}

function pythonEnd(lines: string[], body: number): number {
  const indent = lines[body].length - lines[body].trimStart().length;
  let end = body;
  for (let i = body + 1; i < lines.length; i++) {
    if (blankOrComment(lines[i], "#")) continue;
    if (lines[i].length - lines[i].trimStart().length < indent) break;
    end = i;
  }
  return end;
}

function rustBody(lines: string[], siteLine: number): number | null {
  let i = siteLine;
  while (i < lines.length && !lines[i].includes("{")) {
    if (lines[i].includes(";") && /\bfn\b/.test(lines.slice(siteLine, i + 1).join(" "))) return null;
    i++;
  }
  const after = lines[i]?.slice(lines[i].indexOf("{") + 1) ?? "";
  if (after.trim() !== "" && !after.trim().startsWith("//")) return i;
  for (i++; i < lines.length && blankOrComment(lines[i], "//"); i++);
  return i < lines.length ? i : null;
}

function rustEnd(lines: string[], body: number): number {
  let depth = 1;
  for (let i = body; i < lines.length; i++) {
    for (const ch of lines[i].replace(/\/\/.*$/, "")) depth += ch === "{" ? 1 : ch === "}" ? -1 : 0;
    if (depth <= 0) return i;
  }
  return lines.length - 1;
}

/** The module's name in a Python file (`import chartbridge as cb` -> `cb`); null: not imported as a module. */
export function pythonModuleName(text: string): string | null {
  const m = /^\s*import\s+chartbridge(?:\s+as\s+([A-Za-z_]\w*))?\s*(?:#.*)?$/m.exec(text);
  return m === null ? null : m[1] ?? "chartbridge";
}

/** `2023-11-14 22:13:20 UTC` (sub-second digits only when there are any). */
export function utcLabel(timeNs: bigint): string {
  const ms = Number(timeNs / 1_000_000n);
  const [date, time] = new Date(ms).toISOString().split("T");
  const sub = timeNs % 1_000_000_000n;
  const clock = time.slice(0, 8) + (sub === 0n ? "" : `.${sub.toString().padStart(9, "0").replace(/0+$/, "")}`);
  return `${date} ${clock} UTC`;
}

/**
 * The condition that holds exactly at `timeNs`. Python: the SDK's `at()` (python/src/chartbridge/
 * debug.py: the integration clock, else the frame's ts_event), named as the file imports it, with
 * the time in words after a `#` (VS Code's Breakpoints view shows the condition). Rust: the call's
 * time that `#[chart]` keeps in the integer local `__chartbridge_ns` (rust/chartbridge-macros/src/
 * expand.rs): gdb and lldb compare it as it is, where an argument's `ts_event` may be a newtype
 * they cannot compare (Nautilus's `UnixNanos`) and the integration clock is thread-local.
 */
export function breakCondition(language: SiteLanguage, timeNs: bigint, fileText: string): string {
  if (language === "rust") return `__chartbridge_ns == ${timeNs}`;
  const module = pythonModuleName(fileText) ?? "__import__('chartbridge')";
  return `${module}.at(${timeNs})  # ${utcLabel(timeNs)}`;
}

/** The chart's µs as the ns a condition compares (the SDK matches at µs, so this is exact). */
export function chartTimeNs(timeUs: number): bigint {
  return BigInt(Math.round(timeUs)) * 1000n;
}
