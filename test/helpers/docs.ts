import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../../scripts/lib/compile.js";

/** The worked examples of docs/graphql.md: each `<!-- example:NAME -->` followed by a fenced graphql block. */
export function docsExamples(file = "docs/graphql.md"): { name: string; query: string }[] {
  const text = readFileSync(path.join(ROOT, file), "utf8");
  return [...text.matchAll(/<!-- example:([\w-]+) -->\n```graphql\n([\s\S]*?)```/g)].map(([, name, query]) => ({
    name: name!,
    query: query!,
  }));
}
