/**
 * Colours from the VS Code theme. VS Code sets `--vscode-*` CSS variables and one of the body
 * classes vscode-light / vscode-dark / vscode-high-contrast(-light); a MutationObserver on the body
 * class follows theme switches. A plain browser tab has neither, so the defaults follow
 * `prefers-color-scheme`. The page CSS reads `--cb-*`, set here.
 */
import type { ThemeKind } from "../shared/webviewProtocol.js";

export interface Theme {
  kind: ThemeKind;
  background: string;
  foreground: string;
  border: string;
  grid: string;
  accent: string;
  up: string;
  down: string;
  /** Default colours of series without one, in order. */
  palette: string[];
}

const DEFAULTS: Record<"dark" | "light", Omit<Theme, "kind">> = {
  dark: { background: "#1e1e1e", foreground: "#cccccc", border: "#3c3c3c", grid: "#2b2b2b", accent: "#0078d4", up: "#26a69a", down: "#ef5350", palette: ["#4e9bff", "#ffb74d", "#ba68c8", "#4dd0e1", "#f06292", "#aed581", "#ffd54f"] },
  light: { background: "#ffffff", foreground: "#333333", border: "#d4d4d4", grid: "#f0f0f0", accent: "#005fb8", up: "#089981", down: "#f23645", palette: ["#2962ff", "#f57c00", "#8e24aa", "#00838f", "#d81b60", "#558b2f", "#f9a825"] },
};

function bodyKind(): ThemeKind | null {
  const c = document.body.classList;
  if (c.contains("vscode-high-contrast-light")) return "high-contrast-light";
  if (c.contains("vscode-high-contrast")) return "high-contrast";
  if (c.contains("vscode-dark")) return "dark";
  if (c.contains("vscode-light")) return "light";
  return null;
}

/** A reader of the body's current CSS variables, with a fallback for unset ones. */
function cssVar(): (name: string, fallback: string) => string {
  const css = getComputedStyle(document.body);
  return (name, fallback) => css.getPropertyValue(name).trim() || fallback;
}

export function readTheme(forced?: ThemeKind): Theme {
  const kind = forced ?? bodyKind() ?? (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  const base = DEFAULTS[kind === "light" || kind === "high-contrast-light" ? "light" : "dark"];
  const v = cssVar();
  const highContrast = kind.startsWith("high-contrast");
  return {
    ...base,
    kind,
    background: v("--vscode-editor-background", base.background),
    foreground: v("--vscode-editor-foreground", base.foreground),
    border: v(highContrast ? "--vscode-contrastBorder" : "--vscode-panel-border", base.border),
    grid: highContrast ? "transparent" : v("--vscode-editorIndentGuide-background1", base.grid),
    accent: v("--vscode-focusBorder", base.accent),
  };
}

/** Sets the page's `--cb-*` variables. */
export function applyPageTheme(theme: Theme): void {
  const v = cssVar();
  const style = document.documentElement.style;
  style.setProperty("--cb-bg", theme.background);
  style.setProperty("--cb-fg", theme.foreground);
  style.setProperty("--cb-border", theme.border);
  style.setProperty("--cb-accent", theme.accent);
  style.setProperty("--cb-up", theme.up);
  style.setProperty("--cb-down", theme.down);
  style.setProperty("--cb-input-bg", v("--vscode-input-background", theme.background));
  style.setProperty("--cb-hover", v("--vscode-list-hoverBackground", theme.grid));
  style.setProperty("--cb-error-bg", v("--vscode-inputValidation-errorBackground", theme.kind === "light" ? "#fde7e9" : "#5a1d1d"));
  style.setProperty("--cb-error-fg", v("--vscode-errorForeground", theme.kind === "light" ? "#a1260d" : "#f48771"));
}

/** Calls `onChange` whenever VS Code switches theme (it swaps the body classes). */
export function watchTheme(onChange: () => void): () => void {
  const observer = new MutationObserver(onChange);
  observer.observe(document.body, { attributes: true, attributeFilter: ["class", "style"] });
  const media = matchMedia("(prefers-color-scheme: dark)");
  media.addEventListener("change", onChange);
  return () => {
    observer.disconnect();
    media.removeEventListener("change", onChange);
  };
}
