import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { freePort } from "../../scripts/lib/anvil.js";
import { ROOT } from "../../scripts/lib/compile.js";
import { collectOutput, type GraphQLAnswer, postGraphql } from "./ponder.js";

/** A production script (`npm run start:prod` or `npm run serve`) running Ponder as its child. */
export type ProdProcess = {
  url: string;
  process: ChildProcess;
  logs: () => string;
  /** Resolves once /ready answers 200 (and, given a block, /status has reached it on every chain). */
  waitReady: (blockNumber?: number, timeoutMs?: number) => Promise<void>;
  graphql: <T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
  ) => Promise<GraphQLAnswer<T>>;
  /** SIGTERM to the script (which passes it on to Ponder), SIGKILL to the whole group after 15 s. */
  stop: () => Promise<void>;
};

const TSX = path.join(ROOT, "node_modules/.bin/tsx");

/**
 * Runs scripts/start-prod.ts or scripts/serve.ts through tsx, as `npm run` would, on a free port,
 * in a process group of its own so that a stop that has to SIGKILL reaches Ponder too.
 */
export async function startProd(
  script: "start-prod" | "serve",
  env: Record<string, string>,
  args: string[] = [],
): Promise<ProdProcess> {
  const port = await freePort();
  const child = spawn(TSX, [path.join("scripts", `${script}.ts`), "--log-format", "json", ...args], {
    cwd: ROOT,
    env: { ...process.env, PONDER_TELEMETRY_DISABLED: "true", ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const { output, exited } = collectOutput(child);
  const url = `http://127.0.0.1:${port}`;

  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => killGroup("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
    // Ponder may outlive a script that was killed: make sure nothing of the group is left.
    killGroup("SIGKILL");
  };

  const waitReady = async (blockNumber?: number, timeoutMs = 300_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`${script} exited with code ${child.exitCode}:\n${output().slice(-5000)}`);
      try {
        if ((await fetch(`${url}/ready`)).status === 200) {
          if (blockNumber === undefined) return;
          const status = (await (await fetch(`${url}/status`)).json()) as Record<string, { block: { number: number } }>;
          const reached = Object.values(status).map((chain) => chain.block.number);
          if (reached.length > 0 && Math.min(...reached) >= blockNumber) return;
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`${script} not ready within ${timeoutMs} ms:\n${output().slice(-5000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  const graphql = <T>(query: string, variables?: Record<string, unknown>) => postGraphql<T>(url, query, variables);

  return { url, process: child, logs: output, waitReady, graphql, stop };
}

/** One sample of a Prometheus text exposition. */
export type MetricSample = { name: string; labels: Record<string, string>; value: number };

/** Parses GET /metrics (Prometheus text format 0.0.4). */
export function parseMetrics(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]] = pair[2].replace(/\\(.)/g, "$1");
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The samples of one metric, from a process's /metrics. */
export async function scrape(url: string, name: string): Promise<MetricSample[]> {
  const response = await fetch(`${url}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return parseMetrics(await response.text()).filter((sample) => sample.name === name);
}

/** Polls until `check` returns true, or fails naming `what`. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
