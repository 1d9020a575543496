/**
 * The documented example queries are well formed, so that the indexer suites (which run them on the
 * seed-42 chain, see test/helpers/indexer-suite.ts) run every one: each query has its answer, no
 * name is shown twice, no variables or answer block is left without its query, and the code shown
 * as `example:analyst-sql` is the file itself. Pure: it reads Markdown, nothing else.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../scripts/lib/compile.js";
import {
  documentedBlock,
  documentedQueries,
  EXAMPLE_FILES,
  markdownQueries,
  readExampleFile,
} from "./helpers/documented-queries.js";

describe("documented example queries", () => {
  it("parse, each with its answer, under names shown once", () => {
    const queries = documentedQueries();
    expect(queries.filter(({ file }) => file === "README.md").map(({ name }) => name)).toHaveLength(3);
    expect(queries.filter(({ file }) => file === "docs/queries.md").length).toBeGreaterThanOrEqual(7);
    for (const { name, query } of queries) expect(query, name).toMatch(/^(query|\{)/);
  });

  it("leave no variables or answer block without its query or example", () => {
    for (const file of EXAMPLE_FILES) {
      const markdown = readExampleFile(file);
      const named = new Set([
        ...markdownQueries(file, markdown).map(({ name }) => name),
        ...[...markdown.matchAll(/<!-- example:([\w-]+) -->/g)].map(([, name]) => name),
      ]);
      const orphans = [...markdown.matchAll(/<!-- (?:variables|answer):([\w-]+) -->/g)]
        .map(([, name]) => name)
        .filter((name) => !named.has(name));
      expect(orphans, file).toEqual([]);
    }
  });

  it("show examples/analyst-sql.ts as it is", () => {
    const example = readFileSync(path.join(ROOT, "examples/analyst-sql.ts"), "utf8");
    expect(documentedBlock("example:analyst-sql")).toBe(example);
    expect(() => JSON.parse(documentedBlock("answer:analyst-sql"))).not.toThrow();
  });
});
