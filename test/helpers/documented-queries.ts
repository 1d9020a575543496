import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../../scripts/lib/compile.js";

export type DocumentedQuery = {
  name: string;
  /** The Markdown file the query is shown in, relative to the repository's root. */
  file: string;
  query: string;
  variables?: Record<string, unknown>;
  answer: unknown;
};

/**
 * The Markdown files whose worked examples the tests run: the README's three short queries, and
 * every other worked query in docs/queries.md. A marker's name may appear in only one of them.
 */
export const EXAMPLE_FILES = ["README.md", "docs/queries.md"] as const;

const fenced = (markdown: string, marker: string) =>
  markdown.match(new RegExp(`<!-- ${marker} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``))?.[1];

/** The text of one of the example files. */
export const readExampleFile = (file: string) => readFileSync(path.join(ROOT, file), "utf8");

/**
 * The worked GraphQL examples of one Markdown file: `<!-- query:NAME -->` before the query's
 * block, then an optional `<!-- variables:NAME -->` and the `<!-- answer:NAME -->` shown.
 */
export function markdownQueries(file: string, markdown = readExampleFile(file)): DocumentedQuery[] {
  return [...markdown.matchAll(/<!-- query:([\w-]+) -->/g)].map(([, name]) => {
    const query = fenced(markdown, `query:${name}`);
    const answer = fenced(markdown, `answer:${name}`);
    if (!query || !answer) throw new Error(`${file}: query ${name} has no query or no answer block`);
    const variables = fenced(markdown, `variables:${name}`);
    return { name, file, query, variables: variables ? JSON.parse(variables) : undefined, answer: JSON.parse(answer) };
  });
}

/** Every worked GraphQL example of EXAMPLE_FILES; a name shown in two places is an error. */
export function documentedQueries(): DocumentedQuery[] {
  const queries = EXAMPLE_FILES.flatMap((file) => markdownQueries(file));
  const seen = new Map<string, string>();
  for (const { name, file } of queries) {
    const other = seen.get(name);
    if (other) throw new Error(`query ${name} is shown in both ${other} and ${file}`);
    seen.set(name, file);
  }
  return queries;
}

/**
 * A fenced block by its marker, e.g. `example:analyst-sql`, `answer:analyst-sql`, from whichever
 * of EXAMPLE_FILES holds it (exactly one must).
 */
export function documentedBlock(marker: string): string {
  const found = EXAMPLE_FILES.flatMap((file) => {
    const block = fenced(readExampleFile(file), marker);
    return block === undefined ? [] : [{ file, block }];
  });
  if (found.length !== 1) {
    const where = found.map(({ file }) => file).join(" and ");
    throw new Error(`block ${marker} must be in one of ${EXAMPLE_FILES.join(", ")}; found in ${where || "none"}`);
  }
  return found[0].block;
}
