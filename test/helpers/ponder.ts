import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { freePort } from "../../scripts/lib/anvil.js";
import { ROOT } from "../../scripts/lib/compile.js";

export type PonderProcess = {
  url: string;
  process: ChildProcess;
  /** Everything Ponder printed so far (stdout and stderr), for assertions and failure messages. */
  logs: () => string;
  /** Resolves once /ready answers 200 and /status has reached `blockNumber`. */
  waitForBlock: (blockNumber: number, timeoutMs?: number) => Promise<void>;
  graphql: <T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
  ) => Promise<GraphQLAnswer<T>>;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process has exited. */
  stop: () => Promise<void>;
};

export type GraphQLAnswer<T> = { data?: T; errors?: { message: string }[] };

/** Keeps the last ~1-2 MB of a child's stdout and stderr, and resolves `exited` when it exits. */
export function collectOutput(child: ChildProcess): { output: () => string; exited: Promise<void> } {
  let output = "";
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return { output: () => output, exited };
}

/** POSTs a GraphQL query to `${url}/graphql` and returns the parsed answer. */
export async function postGraphql<T>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GraphQLAnswer<T>> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLAnswer<T>;
}

/** The database schema the tests index into. */
export const PONDER_SCHEMA = "openledger";

export const PONDER_BIN = path.join(ROOT, "node_modules/.bin/ponder");

/**
 * Starts `ponder start` (the real binary, so the PID is Ponder's) on a free port with the given
 * environment (DEPLOYMENT_FILE, DATABASE_URL or PGLITE_DIRECTORY, DATABASE_SCHEMA...).
 */
export async function startPonder(
  env: Record<string, string>,
  command: "start" | "serve" = "start",
): Promise<PonderProcess> {
  const port = await freePort();
  const child = spawn(PONDER_BIN, [command, "--port", String(port), "--log-format", "json"], {
    cwd: ROOT,
    env: {
      ...process.env,
      PONDER_TELEMETRY_DISABLED: "true",
      DATABASE_SCHEMA: PONDER_SCHEMA,
      ...env,
      // An empty PORT means port 0 to Ponder, and PORT overrides --port.
      PORT: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { output, exited } = collectOutput(child);
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const waitForBlock = async (blockNumber: number, timeoutMs = 300_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`ponder exited with code ${child.exitCode}:\n${output().slice(-5000)}`);
      try {
        const ready = await fetch(`${url}/ready`);
        if (ready.status === 200) {
          const status = (await (await fetch(`${url}/status`)).json()) as Record<string, { block: { number: number } }>;
          const reached = Object.values(status)[0]?.block.number ?? -1;
          if (reached >= blockNumber) return;
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new Error(`ponder did not reach block ${blockNumber} within ${timeoutMs} ms:\n${output().slice(-5000)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  const graphql = <T>(query: string, variables?: Record<string, unknown>) => postGraphql<T>(url, query, variables);

  return { url, process: child, logs: output, waitForBlock, graphql, stop };
}
