/**
 * `ponder start` and `ponder serve` as child processes: the real binary on a free port of 127.0.0.1
 * (so the PID we hold is Ponder's), JSON logs kept (and written to a file if asked), and waits for
 * the signals Ponder gives: /ready, /status, a log line.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, realpathSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../scripts/lib/compile.js";
import { type GraphQLAnswer, httpStatus, postGraphql } from "./http.js";
import { freePort } from "./ports.js";
import { collectOutput, hasExited, stopProcess } from "./process.js";
import { waitFor } from "./wait.js";

/** The database schema the tests and the benchmark index into. */
export const PONDER_SCHEMA = "openledger";

export const PONDER_BIN = path.join(ROOT, "node_modules/.bin/ponder");

/** How long a start waits for /ready and a block by default (a backfill on a loaded machine). */
export const INDEXER_TIMEOUT_MS = 600_000;

/**
 * What every Ponder the tests start runs with. Telemetry off. The schema lock's heartbeat at 5 s
 * instead of Ponder's 25 s (Ponder patch 5, docs/ponder-patches.md): each restart after a SIGKILL or
 * a stop waits until the dead process's heartbeat is that old, and the crash, failover and restart
 * suites restart dozens of times.
 */
export const TEST_PONDER_ENV = {
  PONDER_TELEMETRY_DISABLED: "true",
  PONDER_DATABASE_HEARTBEAT_TIMEOUT_MS: "5000",
} as const;

/** One line of Ponder's `--log-format json` output. */
export type PonderLog = { time: number; level: number; msg: string } & Record<string, unknown>;

export type PonderProcess = {
  url: string;
  pid: number;
  process: ChildProcess;
  /** Wall time (ms since epoch) of the spawn. */
  startedAt: number;
  /** Everything Ponder printed so far (stdout and stderr, the last ~1-2 MB). */
  logs: () => string;
  /** Ponder's JSON log lines so far, parsed (the last 20,000). */
  jsonLogs: () => PonderLog[];
  exited: () => boolean;
  /** Resolves once /ready answers 200 (the backfill is over). */
  waitReady: (timeoutMs?: number) => Promise<void>;
  /** Resolves once /ready answers 200 and /status has reached `blockNumber` on every chain. */
  waitForBlock: (blockNumber: number, timeoutMs?: number) => Promise<void>;
  /** Resolves once Ponder has printed a line matching `pattern`. */
  waitForLog: (pattern: RegExp, timeoutMs: number) => Promise<void>;
  graphql: <T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
  ) => Promise<GraphQLAnswer<T>>;
  /** SIGTERM, then SIGKILL after the harness's grace period; resolves once the process has exited. */
  stop: () => Promise<void>;
};

/** Whether /ready answers 200 (the backfill is over). */
export async function isReady(url: string): Promise<boolean> {
  return (await httpStatus(`${url}/ready`)) === 200;
}

/** The lowest block /status reports over the indexer's chains, or -1 (no answer, no chain yet). */
export async function indexedBlock(url: string): Promise<number> {
  try {
    const status = (await (await fetch(`${url}/status`)).json()) as Record<string, { block?: { number: number } }>;
    const blocks = Object.values(status).map((chain) => chain.block?.number ?? -1);
    return blocks.length > 0 ? Math.min(...blocks) : -1;
  } catch {
    return -1;
  }
}

/** An indexer process as the waits see it: where it answers, and what it printed. */
export type IndexerTarget = { name: string; url: string; process: ChildProcess; logs: () => string };

const exitReason = (target: IndexerTarget) =>
  hasExited(target.process)
    ? `${target.name} exited with code ${target.process.exitCode}:\n${target.logs().slice(-5000)}`
    : undefined;

/** Resolves once /ready answers 200 and, given a block, /status has reached it on every chain. */
export async function waitForIndexer(
  target: IndexerTarget,
  blockNumber?: number,
  timeoutMs = INDEXER_TIMEOUT_MS,
): Promise<void> {
  const what = `${target.name} to be ready${blockNumber === undefined ? "" : ` at block ${blockNumber}`}`;
  try {
    await waitFor(
      async () =>
        (await isReady(target.url)) && (blockNumber === undefined || (await indexedBlock(target.url)) >= blockNumber),
      timeoutMs,
      what,
      { intervalMs: 250, failIf: () => exitReason(target) },
    );
  } catch (error) {
    if (hasExited(target.process)) throw error;
    throw new Error(`${(error as Error).message}:\n${target.logs().slice(-5000)}`);
  }
}

/** Resolves once the process has printed a line matching `pattern`. */
export async function waitForLogLine(target: IndexerTarget, pattern: RegExp, timeoutMs: number): Promise<void> {
  await waitFor(() => pattern.test(target.logs()), timeoutMs, `${pattern} in ${target.name}'s output`, {
    intervalMs: 50,
    failIf: () => exitReason(target),
  });
}

/** Keeps the JSON lines of a stream of output chunks, parsed, at most `limit` of them. */
function jsonLines(limit: number): { push: (chunk: Buffer) => void; lines: PonderLog[] } {
  const lines: PonderLog[] = [];
  let partial = "";
  const push = (chunk: Buffer) => {
    partial += chunk.toString();
    const complete = partial.split("\n");
    partial = complete.pop() ?? "";
    for (const line of complete) {
      if (!line.startsWith("{")) continue;
      try {
        lines.push(JSON.parse(line) as PonderLog);
      } catch {
        // not a log line
      }
    }
    if (lines.length > limit) lines.splice(0, lines.length - limit);
  };
  return { push, lines };
}

function openLogFile(file: string) {
  mkdirSync(path.dirname(file), { recursive: true });
  return createWriteStream(file);
}

export type StartPonderOptions = {
  /** `ponder start` (default) or `ponder serve` (an API replica of a PostgreSQL deployment). */
  command?: "start" | "serve";
  /**
   * Flags for Node itself (e.g. --cpu-prof, --max-old-space-size), which then runs Ponder's entry
   * point directly, so the PID is still Ponder's.
   */
  nodeArgs?: string[];
  /** A file that gets everything Ponder prints. */
  logFile?: string;
};

/**
 * Starts `ponder start` (or `serve`) on a free port with the given environment (DEPLOYMENT_FILE,
 * DATABASE_URL or PGLITE_DIRECTORY, DATABASE_SCHEMA...), JSON logs, telemetry off.
 */
export async function startPonder(
  env: Record<string, string>,
  options: StartPonderOptions = {},
): Promise<PonderProcess> {
  const port = await freePort();
  const ponderArgs = [options.command ?? "start", "--port", String(port), "--log-format", "json"];
  const [command, args] = options.nodeArgs?.length
    ? [process.execPath, [...options.nodeArgs, realpathSync(PONDER_BIN), ...ponderArgs]]
    : [PONDER_BIN, ponderArgs];
  const startedAt = Date.now();
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      ...TEST_PONDER_ENV,
      DATABASE_SCHEMA: PONDER_SCHEMA,
      ...env,
      // An empty PORT means port 0 to Ponder, and PORT overrides --port.
      PORT: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logStream = options.logFile ? openLogFile(options.logFile) : undefined;
  const json = jsonLines(20_000);
  const logs = collectOutput(child, (chunk) => {
    logStream?.write(chunk);
    json.push(chunk);
  });
  const url = `http://127.0.0.1:${port}`;
  const target: IndexerTarget = { name: `ponder ${options.command ?? "start"}`, url, process: child, logs };

  return {
    url,
    pid: child.pid as number,
    process: child,
    startedAt,
    logs,
    jsonLogs: () => json.lines,
    exited: () => hasExited(child),
    waitReady: (timeoutMs) => waitForIndexer(target, undefined, timeoutMs),
    waitForBlock: (blockNumber, timeoutMs) => waitForIndexer(target, blockNumber, timeoutMs),
    waitForLog: (pattern, timeoutMs) => waitForLogLine(target, pattern, timeoutMs),
    graphql: (query, variables) => postGraphql(url, query, variables),
    stop: async () => {
      await stopProcess(child);
      if (logStream) await new Promise<void>((resolve) => logStream.end(() => resolve()));
    },
  };
}
