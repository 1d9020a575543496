/**
 * The tests run on the Node that package.json's engines asks for. Node comes from npm (the `node`
 * package in dependencies): `npm run` and `npx` put node_modules/.bin first on PATH, so every
 * `#!/usr/bin/env node` script (tsx, ponder, vitest) and every child started with process.execPath
 * runs on it. Started any other way (`node_modules/.bin/vitest` from a shell, a CI step outside npm),
 * the machine's own Node runs instead, silently; this test makes that a failure.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  engines: { node: string };
  dependencies: Record<string, string>;
};

/** "22.23.3" or "22" as [major, minor, patch], missing parts 0; a pre-release or build tail is ignored. */
function parseVersion(text: string): [number, number, number] {
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+].*)?$/.exec(text.trim());
  if (!match) throw new Error(`not a version: ${JSON.stringify(text)}`);
  return [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)];
}

function compare(a: [number, number, number], b: [number, number, number]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** The lowest version of a range of the form ">=X[.Y[.Z]]", the only form package.json uses. */
function minimumOf(range: string): [number, number, number] {
  const match = /^>=\s*(\S+)$/.exec(range.trim());
  if (!match) throw new Error(`engines.node ${JSON.stringify(range)}: this test reads ">=X.Y.Z" only`);
  return parseVersion(match[1]!);
}

describe("Node version", () => {
  it("reads the forms engines.node uses", () => {
    expect(minimumOf(">=22")).toEqual([22, 0, 0]);
    expect(minimumOf(">= 20.10")).toEqual([20, 10, 0]);
    expect(compare(parseVersion("v20.20.2"), minimumOf(">=22"))).toBeLessThan(0);
    expect(compare(parseVersion("22.23.3"), minimumOf(">=22.15"))).toBeGreaterThan(0);
    expect(() => minimumOf("^22")).toThrow(/">=X.Y.Z" only/);
  });

  it("runs on a Node at least package.json's engines.node (node_modules/.bin/node, through npm)", () => {
    const running = process.versions.node;
    expect(
      compare(parseVersion(running), minimumOf(pkg.engines.node)),
      `Node ${running} at ${process.execPath} is older than engines.node ${pkg.engines.node}: run the tests through npm ` +
        "(npm test, npm run test:unit, npx vitest ...) so that node_modules/.bin/node runs them",
    ).toBeGreaterThanOrEqual(0);
  });

  it("the pinned node package satisfies engines.node", () => {
    const pinned = pkg.dependencies.node;
    expect(pinned, "package.json's dependencies pin the node package exactly").toMatch(/^\d+\.\d+\.\d+$/);
    expect(compare(parseVersion(pinned!), minimumOf(pkg.engines.node))).toBeGreaterThanOrEqual(0);
  });
});
