import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../../scripts/lib/compile.js";

export type ReadmeQuery = { name: string; query: string; variables?: Record<string, unknown>; answer: unknown };

const fenced = (readme: string, marker: string) =>
  readme.match(new RegExp(`<!-- ${marker} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``))?.[1];

export const README = () => readFileSync(path.join(ROOT, "README.md"), "utf8");

/** The README's worked GraphQL examples: `<!-- query:NAME -->`, optional variables, and the answer shown. */
export function readmeQueries(readme = README()): ReadmeQuery[] {
  return [...readme.matchAll(/<!-- query:([\w-]+) -->/g)].map(([, name]) => {
    const query = fenced(readme, `query:${name}`);
    const answer = fenced(readme, `answer:${name}`);
    if (!query || !answer) throw new Error(`README query ${name} has no query or no answer block`);
    const variables = fenced(readme, `variables:${name}`);
    return { name, query, variables: variables ? JSON.parse(variables) : undefined, answer: JSON.parse(answer) };
  });
}

/** A fenced block of the README by its marker, e.g. `example:analyst-sql`, `answer:analyst-sql`. */
export function readmeBlock(marker: string, readme = README()): string {
  const block = fenced(readme, marker);
  if (block === undefined) throw new Error(`README has no block marked ${marker}`);
  return block;
}
