import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../harness/ports.js";
import { collectOutput, exitOf } from "../harness/process.js";
import { waitFor } from "../harness/wait.js";
import { ROOT } from "../scripts/lib/compile.js";

const TSX = path.join(ROOT, "node_modules/.bin/tsx");

describe("npm run demo", () => {
  let demo: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  afterAll(async () => {
    if (demo && demo.exitCode === null && demo.signalCode === null) {
      // The demo stops its simulator, indexer and chain on SIGINT, as on Ctrl-C.
      demo.kill("SIGINT");
      await exited;
    }
  });

  it("says at start how to use webhooks, and its admin API answers the token it printed", async () => {
    const port = await freePort();
    const { WEBHOOK_ADMIN_TOKEN: _token, ...env } = process.env;
    demo = spawn(TSX, ["scripts/demo.ts", "--port", String(port), "--rate", "1"], {
      cwd: ROOT,
      env: { ...env, PONDER_TELEMETRY_DISABLED: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output = collectOutput(demo);
    exited = exitOf(demo);
    const child = demo;
    await waitFor(() => output().includes("Ctrl-C stops everything."), 280_000, "the demo to be ready", {
      failIf: () => (child.exitCode === null ? undefined : `the demo exited:\n${output().slice(-3000)}`),
    });
    const lines = output().split("\n");
    const webhookLines = lines.filter((line) => /^webhooks\s/.test(line));
    expect(webhookLines).toEqual([
      expect.stringMatching(/^webhooks +admin API on, token \S+ \(generated for this run; set WEBHOOK_ADMIN_TOKEN/),
    ]);
    const token = /token (\S+)/.exec(webhookLines[0]!)![1]!;

    const url = `http://127.0.0.1:${port}/admin/webhooks`;
    const withToken = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(withToken.status).toBe(200);
    expect(await withToken.json()).toEqual(expect.objectContaining({ subscriptions: [] }));
    expect((await fetch(url, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
  }, 300_000);
});
