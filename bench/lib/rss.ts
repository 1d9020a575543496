/**
 * Peak resident memory of a process tree: every `intervalMs`, the VmRSS of the process and of all
 * its descendants (found through /proc/<pid>/task/<tid>/children) is summed; the peak is kept.
 * Linux only; elsewhere the sampler reports null.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";

function vmRssKb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (text) for (const child of text.split(/\s+/)) children.push(Number(child));
    }
  } catch {
    // the process is gone
  }
  return children;
}

/** The pid and every descendant, depth first. */
export function processTree(pid: number): number[] {
  const tree: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const current = stack.pop() as number;
    tree.push(current);
    stack.push(...childrenOf(current));
  }
  return tree;
}

export type RssSample = { atMs: number; mb: number };

export type RssSampler = {
  /** Peak of the summed RSS so far, in MB, or null where /proc is not available. */
  peakMb: () => number | null;
  /** Peak of the root process alone. */
  peakRootMb: () => number | null;
  /** The most processes seen in the tree at once. */
  maxProcesses: () => number;
  /** Samples kept every `keepEveryMs` (the peak is computed from all of them). */
  series: () => RssSample[];
  /** Forgets the peak (e.g. between backfill and query load). */
  reset: () => void;
  stop: () => void;
};

export function sampleRss(pid: number, intervalMs = 200, keepEveryMs = 5_000): RssSampler {
  const supported = existsSync(`/proc/${pid}/status`);
  const began = performance.now();
  let peak = 0;
  let peakRoot = 0;
  let maxProcesses = 0;
  let lastKept = -Infinity;
  const kept: RssSample[] = [];
  const sample = () => {
    const tree = processTree(pid);
    const kb = tree.reduce((sum, p) => sum + vmRssKb(p), 0);
    const rootKb = vmRssKb(pid);
    peak = Math.max(peak, kb);
    peakRoot = Math.max(peakRoot, rootKb);
    maxProcesses = Math.max(maxProcesses, tree.length);
    const atMs = performance.now() - began;
    if (atMs - lastKept >= keepEveryMs) {
      kept.push({ atMs: Math.round(atMs), mb: Math.round(kb / 1024) });
      lastKept = atMs;
    }
  };
  const timer = supported ? setInterval(sample, intervalMs) : null;
  timer?.unref();
  if (supported) sample();
  return {
    peakMb: () => (supported ? peak / 1024 : null),
    peakRootMb: () => (supported ? peakRoot / 1024 : null),
    maxProcesses: () => maxProcesses,
    series: () => kept,
    reset: () => {
      peak = 0;
      peakRoot = 0;
    },
    stop: () => {
      if (timer) clearInterval(timer);
      if (supported) sample();
    },
  };
}

/** CPU seconds (user + system, all threads) used so far by a process and its descendants, dead or alive. */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      // Fields after the command name (which may contain spaces) start after the last ")".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // utime, stime, and cutime, cstime: the time of reaped children (each counted once, by its parent).
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // gone
    }
  }
  return ticks / 100;
}
