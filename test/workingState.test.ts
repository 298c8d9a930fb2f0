import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { OPERATIONS } from "../src/shared/api.js";
import { changedFiles, fileAt, workingTree } from "../src/extension/workingState.js";
import { testRedis } from "./harness/rootHooks.js";
import { query, useTestServer } from "./harness/server.js";

const run = promisify(execFile);
const PYTHON = join(__dirname, "..", ".venv", "bin", "python");
const script = (fast: number) => `import sys\nimport chartbridge as cb\nFAST = ${fast}\ncb.configure(url=sys.argv[1], prefix=sys.argv[2])\nwith cb.run(sys.argv[3]):\n    pass\ncb.flush()\n`;

describe("working states: a dirty run's saved diff, the server's dirtyDiff and the trees the commit diff opens (real git repos)", function () {
  this.timeout(60_000);
  const t = useTestServer();
  let root = "";
  const git = async (...args: string[]) => (await run("git", ["-C", root, "-c", "user.name=t", "-c", "user.email=t@t", ...args], { encoding: "buffer" })).stdout;
  const commit = async (message: string) => {
    await git("commit", "-q", "-am", message);
    return (await git("rev-parse", "HEAD")).toString().trim();
  };
  const strategy = () => join(root, "strategy.py");
  const runScript = (id: string) => run(PYTHON, [strategy(), testRedis().url, t.prefix, id]);

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "chartbridge-repo-"));
    await git("init", "-q");
    await writeFile(strategy(), script(10));
    await writeFile(join(root, "notes.txt"), "plain\n");
    await git("add", ".");
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("rebuilds the dirty run's files byte for byte and diffs them against a later clean run", async () => {
    const first = await commit("fast 10");
    await writeFile(strategy(), script(12));
    // A byte that is not UTF-8 (Latin-1 é) must survive Redis, GraphQL and git apply.
    await writeFile(join(root, "notes.txt"), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    const diff = await git("diff", "HEAD", "--binary");
    await runScript("dirty-run");
    await writeFile(strategy(), script(14));
    await git("checkout", "--", "notes.txt");
    const second = await commit("fast 14");
    await runScript("clean-run");

    const reply = await query<{ from: { dirtyDiff: string | null }; to: { dirtyDiff: string | null } }>(t.ws, OPERATIONS.dirtyDiffs.document, { from: "dirty-run", to: "clean-run" });
    assert.equal(reply.errors, undefined, JSON.stringify(reply.errors));
    assert.equal(reply.data?.from.dirtyDiff, diff.toString("latin1"));
    assert.equal(reply.data?.to.dirtyDiff, null);

    const dirtyTree = await workingTree(root, first, reply.data?.from.dirtyDiff ?? null);
    const cleanTree = await workingTree(root, second, null);
    assert.equal(await fileAt(root, dirtyTree, "strategy.py"), script(12));
    assert.deepEqual(await git("show", `${dirtyTree}:notes.txt`), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    assert.equal(await fileAt(root, cleanTree, "strategy.py"), script(14));
    assert.deepEqual(await changedFiles(root, dirtyTree, cleanTree), ["notes.txt", "strategy.py"]);
    // Commit to commit, the notes never changed: only the working states show it.
    assert.deepEqual(await changedFiles(root, first, second), ["strategy.py"]);
    // The user's own index and files are untouched.
    assert.equal((await git("status", "--porcelain")).toString(), "");
    assert.equal(await readFile(strategy(), "utf8"), script(14));
  });

  it("says so when the saved changes do not apply to the run's commit", async () => {
    const first = await commit("fast 10");
    const bad = "diff --git a/strategy.py b/strategy.py\n--- a/strategy.py\n+++ b/strategy.py\n@@ -1 +1 @@\n-not there\n+x\n";
    await assert.rejects(workingTree(root, first, bad), (err: Error) => err.message.startsWith(`the saved changes do not apply to commit ${first.slice(0, 10)}: `));
  });
});
