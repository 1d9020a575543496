import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, checkEnv, ENV, type EnvName, readEnv } from "../config/env.js";
import { ROOT } from "../scripts/lib/compile.js";

/** The message readEnv must give for `name=raw`, built here from the declaration's `expected`. */
const refusal = (name: EnvName, raw: string) => `${name}=${JSON.stringify(raw)}: expected ${ENV[name].kind.expected}`;

function refused(name: EnvName, raw: string): string {
  try {
    readEnv(name, { [name]: raw });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`${name}=${JSON.stringify(raw)} was accepted`);
}

const integerVariables = (Object.keys(ENV) as EnvName[]).filter((name) =>
  /^an integer (>=|from) /.test(ENV[name].kind.expected),
);

describe("config/env.ts", () => {
  it("parses every integer variable alike: decimal digits only, within bounds, one-line refusals", () => {
    // The six parsers this replaced differed: some took "1e3" or "0x10", some fell back silently.
    expect(integerVariables.length).toBeGreaterThanOrEqual(20);
    for (const name of integerVariables) {
      for (const raw of ["1e3", "0x10", "1.5", "12abc", "ten"]) expect(refused(name, raw)).toBe(refusal(name, raw));
      const [, low] = /(?:>=|from) (\d+)/.exec(ENV[name].kind.expected)!;
      const min = Number(low);
      expect(readEnv(name, { [name]: ` ${min} ` }), name).toBe(min);
      if (min > 0) expect(refused(name, String(min - 1))).toBe(refusal(name, String(min - 1)));
    }
    expect(refused("DEVNET_PORT", "65536")).toBe('DEVNET_PORT="65536": expected an integer from 1 to 65535');
  });

  it("treats an empty or blank value as unset, and gives the default", () => {
    expect(readEnv("STREAM_POLL_MS", { STREAM_POLL_MS: "" })).toBe(ENV.STREAM_POLL_MS.default);
    expect(readEnv("STREAM_POLL_MS", { STREAM_POLL_MS: "  " })).toBe(ENV.STREAM_POLL_MS.default);
    expect(readEnv("CHAIN_ID", {})).toBeUndefined();
    expect(readEnv("STREAM_POLL_MS", { STREAM_POLL_MS: "25" })).toBe(25);
  });

  it("parses lists, choices, schema names and the heap budget, and masks a password it shows", () => {
    expect(readEnv("RPC_URL", { RPC_URL: "https://a.example, ws://b.example ," })).toEqual([
      "https://a.example",
      "ws://b.example",
    ]);
    expect(refused("RPC_URL", "https://a.example,localhost:8545")).toBe(
      refusal("RPC_URL", "https://a.example,localhost:8545"),
    );
    expect(readEnv("INDEXER_MAX_HEAP_MB", { INDEXER_MAX_HEAP_MB: "off" })).toBe("off");
    expect(refused("INDEXER_MAX_HEAP_MB", "64")).toBe('INDEXER_MAX_HEAP_MB="64": expected off, or an integer >= 192');
    expect(refused("DATABASE_VIEWS_SCHEMA", "public")).toMatch(
      /^DATABASE_VIEWS_SCHEMA="public": expected a schema name/,
    );
    expect(refused("SERVE_SCHEMA", "x".repeat(46))).toMatch(/at most 45 characters/);
    expect(refused("DATABASE_URL", "mysql://admin:hunter2@db:3306/x")).toBe(
      'DATABASE_URL="mysql://admin:***@db:3306/x": expected a postgres:// or postgresql:// URL',
    );
    expect(readEnv("GIT_SHA", { GIT_SHA: "ABC1234DEF" })).toBe("abc1234def");
  });

  it("checks a program's groups at once, and only those", () => {
    expect(() => checkEnv(["streams"], { STREAM_POLL_MS: "fast" })).toThrow(
      'STREAM_POLL_MS="fast": expected an integer >= 10',
    );
    expect(() => checkEnv(["chain", "database"], { STREAM_POLL_MS: "fast" })).not.toThrow();
  });

  it("is the only reader of environment variables in the project's code", () => {
    const roots = ["src", "config", "scripts", "bench", "examples", "ponder.config.ts"];
    const files: string[] = [];
    const walk = (entry: string) => {
      if (statSync(entry).isDirectory()) for (const child of readdirSync(entry)) walk(path.join(entry, child));
      else if (entry.endsWith(".ts")) files.push(entry);
    };
    for (const root of roots) walk(path.join(ROOT, root));
    const reads = files
      .filter((file) => !file.endsWith(path.join("config", "env.ts")))
      .flatMap((file) =>
        readFileSync(file, "utf8")
          .split("\n")
          .map((line, index) => ({ where: `${path.relative(ROOT, file)}:${index + 1}`, line }))
          .filter(({ line }) => /process\.env(\.[A-Za-z_]|\[)|\benv(\.[A-Z][A-Z0-9_]+\b(?! =)|\[)/.test(line)),
      );
    expect(reads.map(({ where, line }) => `${where}: ${line.trim()}`)).toEqual([]);
  });
});
