/** Reading a process's GET /metrics (Prometheus text exposition format 0.0.4). */

/** One sample of a Prometheus text exposition. */
export type MetricSample = { name: string; labels: Record<string, string>; value: number };

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const ESCAPES: Record<string, string> = { "\\": "\\", '"': '"', n: "\n" };
/** Values the format spells its own way (Number("+Inf") would be NaN). */
const SPECIAL_VALUES: Record<string, number> = { "+Inf": Number.POSITIVE_INFINITY, "-Inf": Number.NEGATIVE_INFINITY };

/** Parses `{a="1",b="x\"y"}` from `text[start]` (the brace); returns the labels and the index after `}`. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } | undefined {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    while (line[i] === " ") i++;
    if (line[i] === "}") return { labels, end: i + 1 };
    const name = LABEL_NAME.exec(line.slice(i))?.[0];
    if (!name) return undefined;
    i += name.length;
    while (line[i] === " ") i++;
    if (line[i] !== "=" || line[i + 1] !== '"') return undefined;
    i += 2;
    let value = "";
    for (;;) {
      const char = line[i];
      if (char === undefined) return undefined;
      if (char === '"') break;
      if (char === "\\") {
        const next = line[i + 1];
        // The format escapes only backslash, double quote and line feed; anything else stays as written.
        value += next !== undefined && next in ESCAPES ? ESCAPES[next] : `\\${next ?? ""}`;
        i += 2;
      } else {
        value += char;
        i += 1;
      }
    }
    labels[name] = value;
    i += 1;
    while (line[i] === " ") i++;
    if (line[i] === ",") i++;
  }
}

/** Parses Prometheus' text format: one sample per line; comments, blank and malformed lines skipped. */
export function parseMetrics(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const name = NAME.exec(line)?.[0];
    if (!name) continue;
    let labels: Record<string, string> = {};
    let rest = line.slice(name.length);
    if (!/^[{ \t]/.test(rest)) continue;
    if (rest.startsWith("{")) {
      const parsed = parseLabels(line, name.length);
      if (!parsed) continue;
      labels = parsed.labels;
      rest = line.slice(parsed.end);
    }
    // The value, then an optional timestamp.
    const [written] = rest.trim().split(/\s+/);
    const value = SPECIAL_VALUES[written] ?? Number(written);
    if (written === "" || (Number.isNaN(value) && written !== "NaN")) continue;
    samples.push({ name, labels, value });
  }
  return samples;
}

/** Every sample of a process's /metrics. */
export async function scrapeMetrics(url: string): Promise<MetricSample[]> {
  const response = await fetch(`${url}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return parseMetrics(await response.text());
}

/** The samples of one metric, from a process's /metrics. */
export async function scrape(url: string, name: string): Promise<MetricSample[]> {
  return (await scrapeMetrics(url)).filter((sample) => sample.name === name);
}
