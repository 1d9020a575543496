/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --ponder-node-arg=--cpu-prof
 * --ponder-node-arg=--cpu-prof-dir=DIR`): self time by area (Ponder's sync, indexing, store,
 * drizzle, pg, viem, our handlers, GC, idle) and the heaviest functions.
 *
 *   npx tsx bench/cpuprofile.ts DIR/CPU.*.cpuprofile [--top 30] [--last SECONDS]
 *
 * --last keeps the samples of the profile's last SECONDS (e.g. the query load at the end of a run).
 */
import { readFileSync } from "node:fs";

type Node = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
};
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };

const AREAS: [string, RegExp][] = [
  ["ponder: historical sync (RPC, ponder_sync writes)", /ponder\/dist\/esm\/(sync-historical|sync-store|sync)\//],
  ["ponder: realtime sync", /ponder\/dist\/esm\/sync-realtime\//],
  ["ponder: runtime (events, decode, checkpoints)", /ponder\/dist\/esm\/runtime\//],
  ["ponder: indexing loop", /ponder\/dist\/esm\/indexing\//],
  ["ponder: indexing store and cache (rows, flush)", /ponder\/dist\/esm\/indexing-store\//],
  ["ponder: database (query builder, copy)", /ponder\/dist\/esm\/database\//],
  ["ponder: rpc", /ponder\/dist\/esm\/rpc\//],
  ["ponder: utils (decoding, checkpoints, copy)", /ponder\/dist\/esm\/utils\//],
  ["ponder: other", /ponder\/dist\/esm\//],
  ["drizzle-orm", /drizzle-orm/],
  ["pg (driver)", /node_modules\/(pg|pg-protocol|pg-types|pg-copy-streams)\//],
  ["pglite", /@electric-sql\/pglite/],
  ["viem / ox / noble (decoding, hashing)", /node_modules\/(viem|ox|@noble|abitype)\//],
  ["prom-client (metrics)", /prom-client/],
  ["pino (logs)", /pino/],
  ["our handlers (src/)", /\/src\/|ponder:registry|\.ponder\//],
  ["other node_modules", /node_modules/],
  ["node internals", /^node:|^internal\//],
];

function areaOf(node: Node): string {
  const { functionName, url } = node.callFrame;
  if (functionName === "(garbage collector)") return "garbage collector";
  if (functionName === "(idle)") return "idle (waiting)";
  if (functionName === "(program)") return "(program: native, JSON.parse, etc.)";
  for (const [name, re] of AREAS) if (re.test(url)) return name;
  return url ? "other" : `native: ${functionName || "(anonymous)"}`;
}

function main() {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: npx tsx bench/cpuprofile.ts FILE.cpuprofile [--top N]");
    process.exit(2);
  }
  const topIndex = process.argv.indexOf("--top");
  const top = topIndex > 0 ? Number(process.argv[topIndex + 1]) : 25;
  const lastIndex = process.argv.indexOf("--last");
  const lastUs = lastIndex > 0 ? Number(process.argv[lastIndex + 1]) * 1e6 : Number.POSITIVE_INFINITY;
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const span = profile.timeDeltas.reduce((a, b) => a + b, 0);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  let at = 0;
  profile.samples.forEach((id, index) => {
    at += profile.timeDeltas[index] ?? 0;
    if (span - at > lastUs) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id) as Node;
    const area = areaOf(node);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url
      ? `${url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/main\//, "")}:${lineNumber + 1}`
      : "";
    const key = `${functionName || "(anonymous)"} ${where}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
  const secs = (us: number) => `${(us / 1e6).toFixed(1).padStart(7)} s`;
  console.log(`profile: ${secs(total)} sampled (${profile.samples.length} samples)\n\nby area (self time):`);
  for (const [area, us] of [...areas].sort((a, b) => b[1] - a[1])) console.log(`${secs(us)} ${pct(us)}  ${area}`);
  console.log(`\ntop ${top} functions (self time):`);
  for (const [key, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${secs(us)} ${pct(us)}  ${key}`);
  }
}

main();
