/**
 * A run's working state as a git tree: its commit with its saved uncommitted diff applied, built in
 * a private index (the user's index and files are never touched). Two runs' trees diff like commits.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

async function git(root: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return (await run("git", ["-C", root, ...args], { maxBuffer: 64 << 20, encoding: "latin1", env: env && { ...process.env, ...env } })).stdout;
}

/** The tree of `commit` plus `diff` (`git diff HEAD --binary` as Latin-1 bytes; null: the commit's own tree). */
export async function workingTree(root: string, commit: string, diff: string | null): Promise<string> {
  if (diff === null || diff === "") return (await git(root, ["rev-parse", `${commit}^{tree}`])).trim();
  const dir = await mkdtemp(join(tmpdir(), "chartbridge-state-"));
  try {
    const env = { GIT_INDEX_FILE: join(dir, "index") };
    await writeFile(join(dir, "dirty.diff"), Buffer.from(diff, "latin1"));
    await git(root, ["read-tree", commit], env);
    await git(root, ["apply", "--cached", "--binary", join(dir, "dirty.diff")], env).catch((err: Error) => {
      throw new Error(`the saved changes do not apply to commit ${commit.slice(0, 10)}: ${err.message}`);
    });
    return (await git(root, ["write-tree"], env)).trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Files that differ between two trees (or commits). */
export async function changedFiles(root: string, from: string, to: string): Promise<string[]> {
  return (await git(root, ["diff", "--name-only", from, to])).split("\n").filter((f) => f !== "");
}

/** A file's content in a tree, as text; "" where the tree lacks it (added or deleted on one side). */
export async function fileAt(root: string, tree: string, path: string): Promise<string> {
  return (await run("git", ["-C", root, "show", `${tree}:${path}`], { maxBuffer: 64 << 20 }).catch(() => ({ stdout: "" }))).stdout;
}
