/**
 * `ponder start` for the benchmark: the real binary on a free port of 127.0.0.1 (so the PID we
 * hold, and sample, is Ponder's), JSON logs written to a file and parsed for the phases we time,
 * /metrics scraped for Ponder's own histograms. Registered for cleanup.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, realpathSync } from "node:fs";
import path from "node:path";
import { freePort } from "../../scripts/lib/anvil.js";
import { ROOT } from "../../scripts/lib/compile.js";
import { type GraphQLAnswer, postGraphql } from "../../test/helpers/ponder.js";
import { track } from "./cleanup.js";

export const PONDER_BIN = path.join(ROOT, "node_modules/.bin/ponder");
export const PONDER_SCHEMA = "openledger";

export type PonderLog = { time: number; level: number; msg: string } & Record<string, unknown>;

export type Ponder = {
  url: string;
  pid: number;
  process: ChildProcess;
  /** Wall time (ms since epoch) of the spawn. */
  startedAt: number;
  logFile: string;
  /** Parsed JSON log lines (the last 20,000). */
  logs: () => PonderLog[];
  /** The last raw output, for error messages. */
  tail: () => string;
  exited: () => boolean;
  graphql: <T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
  ) => Promise<GraphQLAnswer<T>>;
  stop: () => Promise<void>;
};

/**
 * `nodeArgs`: flags for Node itself (e.g. --cpu-prof, --max-old-space-size), which then runs
 * Ponder's entry point directly, so the PID is still Ponder's.
 */
export async function startPonder(options: {
  env: Record<string, string>;
  logFile: string;
  nodeArgs?: string[];
}): Promise<Ponder> {
  const port = await freePort();
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const logStream = createWriteStream(options.logFile);
  const startedAt = Date.now();
  const ponderArgs = ["start", "--port", String(port), "--log-format", "json"];
  const [command, args] = options.nodeArgs?.length
    ? [process.execPath, [...options.nodeArgs, realpathSync(PONDER_BIN), ...ponderArgs]]
    : [PONDER_BIN, ponderArgs];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      PONDER_TELEMETRY_DISABLED: "true",
      DATABASE_SCHEMA: PONDER_SCHEMA,
      ...options.env,
      // An empty PORT means port 0 to Ponder, and PORT overrides --port.
      PORT: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const parsed: PonderLog[] = [];
  let tail = "";
  let partial = "";
  const onData = (chunk: Buffer) => {
    logStream.write(chunk);
    const text = chunk.toString();
    tail = (tail + text).slice(-20_000);
    partial += text;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.startsWith("{")) continue;
      try {
        parsed.push(JSON.parse(line) as PonderLog);
        if (parsed.length > 20_000) parsed.splice(0, parsed.length - 20_000);
      } catch {
        // not a log line
      }
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exitedPromise = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;

  const stop = track({
    name: `ponder ${port}`,
    stop: async () => {
      if (!hasExited()) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        await exitedPromise;
        clearTimeout(timer);
      }
      await new Promise<void>((resolve) => logStream.end(() => resolve()));
    },
    kill: () => child.kill("SIGKILL"),
  });

  const url = `http://127.0.0.1:${port}`;
  const graphql = <T>(query: string, variables?: Record<string, unknown>) => postGraphql<T>(url, query, variables);

  return {
    url,
    pid: child.pid as number,
    process: child,
    startedAt,
    logFile: options.logFile,
    logs: () => parsed,
    tail: () => tail,
    exited: hasExited,
    graphql,
    stop,
  };
}

/** The block /status reports for our one chain, or -1. */
export async function statusBlock(url: string): Promise<number> {
  const status = (await (await fetch(`${url}/status`)).json()) as Record<string, { block?: { number: number } }>;
  return Object.values(status)[0]?.block?.number ?? -1;
}

export async function isReady(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/ready`)).status === 200;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------------------------ metrics

export type MetricSample = { name: string; labels: Record<string, string>; value: number };

/** Parses Prometheus' text format (what /metrics answers). */
export function parseMetrics(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[3] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: match[1], labels, value: Number(match[4]) });
  }
  return samples;
}

export async function scrapeMetrics(url: string): Promise<MetricSample[]> {
  return parseMetrics(await (await fetch(`${url}/metrics`)).text());
}
