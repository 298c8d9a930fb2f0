/**
 * Chart plugins: ES modules the webview imports. Workspace plugins are the top-level `.js/.mjs/
 * .ts/.mts` files of the plugin folder, bundled with esbuild on every save (so they may be
 * TypeScript and import from node_modules or from sub-folders); built-in plugins ship prebuilt.
 * A failed build keeps the last good code and reports the error beside it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, extname, join, resolve } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import { build } from "esbuild";
import type { Plugin } from "../shared/api.js";
import { NAME_PATTERNS } from "../shared/protocol.js";
import { pullIterator } from "./pullIterator.js";


export interface PluginManagerOptions {
  /** Folder of workspace plugins (watched, created on first write by the SDK). Null: none. */
  workspaceDir: string | null;
  /** Folder of prebuilt built-in plugins (`<name>.js`). Null: none. */
  builtinDir: string | null;
  log: (message: string) => void;
}

const SOURCE_EXTENSIONS = new Set([".js", ".mjs", ".ts", ".mts"]);

export class PluginManager {
  private plugins = new Map<string, Plugin>();
  /** Per workspace plugin: the files its last build read, so a change to a helper module rebuilds it. */
  private inputs = new Map<string, Set<string>>();
  private building = new Map<string, Promise<void>>();
  private again = new Set<string>();
  private listeners = new Set<(plugin: Plugin) => void>();
  private watcher: FSWatcher | null = null;
  private trailing = new Map<string, NodeJS.Timeout>();

  constructor(private readonly options: PluginManagerOptions) {}

  async start(): Promise<void> {
    this.loadBuiltins();
    const dir = this.options.workspaceDir;
    if (dir === null) return;
    const root = resolve(dir);
    // Watch a folder that exists, so the first plugin written into it (e.g. by cb.write_plugin) is seen.
    mkdirSync(root, { recursive: true });
    this.watcher = watch(root, {
      ignoreInitial: false,
      // Editors save by rename; chokidar's default atomic handling covers that without the
      // multi-second awaitWriteFinish polling, which would defeat hot reload.
      awaitWriteFinish: false,
      depth: 8,
      ignored: (path: string) => path.includes("/node_modules/"),
    });
    const changed = (path: string) => this.onChange(root, resolve(path));
    this.watcher.on("add", changed).on("change", changed).on("unlink", (path) => this.onUnlink(root, resolve(path)));
    this.watcher.on("error", (err) => this.options.log(`plugin watcher: ${String(err)}`));
    await new Promise<void>((ready) => this.watcher?.once("ready", () => ready()));
    await Promise.all(this.building.values());
  }

  async stop(): Promise<void> {
    for (const timer of this.trailing.values()) clearTimeout(timer);
    await this.watcher?.close();
  }

  list(): Plugin[] {
    return [...this.plugins.values()].filter((p) => !p.deleted).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Every plugin now, then each change, until the subscriber goes away. */
  follow(): AsyncIterableIterator<Plugin> {
    const queue = this.list();
    return pullIterator(
      (wake) => {
        const listener = (plugin: Plugin) => {
          // A newer state of the same plugin supersedes a queued one: a slow client never piles up versions.
          const at = queue.findIndex((p) => p.name === plugin.name);
          if (at >= 0) queue.splice(at, 1);
          queue.push(plugin);
          wake();
        };
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
      () => queue.shift() ?? null,
    );
  }

  private loadBuiltins(): void {
    const dir = this.options.builtinDir;
    if (dir === null || !existsSync(dir)) return;
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".js")).sort()) {
      const name = basename(file, ".js");
      this.plugins.set(name, { name, origin: "builtin", version: 1, code: readFileSync(join(dir, file), "utf8"), error: null, deleted: false });
    }
  }

  private pluginName(root: string, path: string): string | null {
    const rel = path.slice(root.length + 1);
    if (rel.includes("/") || !SOURCE_EXTENSIONS.has(extname(rel))) return null;
    const name = basename(rel, extname(rel));
    return NAME_PATTERNS.plugin.test(name) ? name : null;
  }

  private onChange(root: string, path: string): void {
    this.watchTrailing(root, path);
    const own = this.pluginName(root, path);
    if (own !== null) this.rebuild(own, path);
    for (const [name, files] of this.inputs) {
      if (name !== own && files.has(path)) this.rebuild(name, this.entryOf(root, name));
    }
  }

  /**
   * chokidar drops a second "change" of a path within 50 ms of the first, with no trailing event,
   * so a quick second save would never be built. Look at the file again just after that window.
   */
  private watchTrailing(root: string, path: string): void {
    const seen = mtimeOf(path);
    clearTimeout(this.trailing.get(path));
    this.trailing.set(
      path,
      setTimeout(() => {
        this.trailing.delete(path);
        const now = mtimeOf(path);
        if (now !== null && now !== seen) this.onChange(root, path);
      }, 60),
    );
  }

  private onUnlink(root: string, path: string): void {
    const name = this.pluginName(root, path);
    const plugin = name === null ? undefined : this.plugins.get(name);
    if (plugin === undefined || plugin.origin !== "workspace") {
      this.onChange(root, path);
      return;
    }
    this.inputs.delete(plugin.name);
    this.announce({ ...plugin, version: plugin.version + 1, code: null, error: null, deleted: true });
  }

  private entryOf(root: string, name: string): string {
    const found = readdirSync(root).find((f) => basename(f, extname(f)) === name && SOURCE_EXTENSIONS.has(extname(f)));
    return join(root, found ?? `${name}.js`);
  }

  /** Builds now, or once more right after the build in progress (the file changed during it). */
  private rebuild(name: string, entry: string): void {
    if (this.building.has(name)) {
      this.again.add(name);
      return;
    }
    const run = this.buildOnce(name, entry).finally(() => {
      this.building.delete(name);
      if (this.again.delete(name)) this.rebuild(name, entry);
    });
    this.building.set(name, run);
  }

  private async buildOnce(name: string, entry: string): Promise<void> {
    const previous = this.plugins.get(name);
    const version = previous?.version ?? 0;
    // A workspace plugin may override a built-in of the same name; only its own code is a fallback.
    const lastGood = previous?.origin === "workspace" ? previous.code : null;
    try {
      const result = await build({
        entryPoints: [entry],
        bundle: true,
        format: "esm",
        platform: "browser",
        target: "es2022",
        write: false,
        metafile: true,
        logLevel: "silent",
        sourcemap: "inline",
        sourcesContent: false,
      });
      const root = process.cwd();
      this.inputs.set(name, new Set(Object.keys(result.metafile.inputs).map((p) => resolve(root, p))));
      const code = result.outputFiles[0].text;
      // A save that leaves the bundle as it was (or a watcher event twice for one save) is no new version.
      if (previous?.origin === "workspace" && previous.code === code && previous.error === null && !previous.deleted) return;
      this.announce({ name, origin: "workspace", version: previous?.origin === "workspace" && previous.code === code ? version : version + 1, code, error: null, deleted: false });
    } catch (err) {
      const message = formatBuildError(err);
      this.options.log(`plugin ${name}: build failed, keeping the last good version: ${message}`);
      this.announce({ name, origin: "workspace", version, code: lastGood, error: message, deleted: false });
    }
  }

  private announce(plugin: Plugin): void {
    this.plugins.set(plugin.name, plugin);
    for (const listener of this.listeners) listener(plugin);
  }
}

function mtimeOf(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

function formatBuildError(err: unknown): string {
  const errors = (err as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
  if (!errors || errors.length === 0) return String(err);
  return errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ${e.text}` : e.text)).join("\n");
}
