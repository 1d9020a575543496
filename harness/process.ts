/**
 * Child processes of the tests and the benchmark: one way to stop them (SIGTERM, a grace period,
 * then SIGKILL) and one way to keep what they print.
 */
import type { ChildProcess } from "node:child_process";

/**
 * How long a process gets between SIGTERM and SIGKILL. Ponder flushes and closes its database on
 * SIGTERM; on a loaded machine that takes seconds, so the grace is generous.
 */
export const STOP_GRACE_MS = 15_000;

/** Whether the process has exited (by itself or by a signal). */
export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves once the process has exited (at once if it already has). */
export function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (hasExited(child)) resolve();
    else child.once("exit", () => resolve());
  });
}

/** Sends `signal` to the process, or to its whole process group when it was spawned `detached`. */
function signal(child: ChildProcess, name: NodeJS.Signals, group: boolean) {
  try {
    if (group && child.pid) process.kill(-child.pid, name);
    else child.kill(name);
  } catch {
    // already gone
  }
}

export type StopOptions = {
  /** Milliseconds between SIGTERM and SIGKILL; default STOP_GRACE_MS. */
  graceMs?: number;
  /**
   * The process leads a group of its own (spawned `detached`): the SIGKILL goes to the whole group,
   * and so does a last SIGKILL after the exit, so that no grandchild outlives it.
   */
  group?: boolean;
};

/** SIGTERM, then SIGKILL after the grace period; resolves once the process has exited. */
export async function stopProcess(child: ChildProcess, options: StopOptions = {}): Promise<void> {
  const group = options.group ?? false;
  if (!hasExited(child)) {
    const exited = exitOf(child);
    child.kill("SIGTERM");
    const timer = setTimeout(() => signal(child, "SIGKILL", group), options.graceMs ?? STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
  if (group) signal(child, "SIGKILL", true);
}

/** SIGKILL, no warning; resolves once the process is gone (a crash, as the fault tests want it). */
export async function killProcess(child: ChildProcess): Promise<void> {
  const exited = exitOf(child);
  if (!hasExited(child)) child.kill("SIGKILL");
  await exited;
}

/** Keeps the last ~1-2 MB of a child's stdout and stderr; `onChunk` sees every chunk as it comes. */
export function collectOutput(child: ChildProcess, onChunk?: (chunk: Buffer) => void): () => string {
  let output = "";
  const append = (chunk: Buffer) => {
    onChunk?.(chunk);
    output += chunk.toString();
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  return () => output;
}
