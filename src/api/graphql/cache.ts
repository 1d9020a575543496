/**
 * Answers of `/graphql` kept for as long as the indexed state they were computed at is the current
 * one, the way graph-node caches query results per block: the same query with the same variables at
 * the same indexed checkpoints has the same answer, so a hot page (a popular invoice, the busiest
 * model) is computed once per block instead of once per visitor.
 *
 * The state ("generation") is each chain's latest indexed checkpoint, read before the query runs:
 * the answer then reflects at least that state, never less, and X-Indexed-Block (read even earlier)
 * never claims more than it holds. When the state moves the whole cache is dropped, so only answers
 * of the current state are ever served, and a reorg (the state moving back, then forward again) drops
 * it too. Answers with `errors` (a timeout, a bad query) are not kept.
 *
 * Requests that miss on the same query at the same state while its answer is being computed wait for
 * that computation instead of running the query again ("shared"): when a block moves the cache, the
 * visitors of a hot page cost one query, not one each.
 *
 * Only on PostgreSQL: on PGlite the API shares one connection with the indexer and reads no state.
 */

/** The indexed state, as a string that changes whenever any chain's checkpoint moves. */
export type StateReader = () => Promise<string | undefined>;

export class ResponseCache {
  /** Insertion order is recency: a hit moves its entry to the end, eviction takes from the front. */
  private readonly entries = new Map<string, string>();
  private bytes = 0;
  private generation: string | undefined;
  hits = 0;
  misses = 0;
  /** Lookups answered by another request's computation of the same answer (see the header). */
  shared = 0;

  constructor(private readonly maxBytes: number) {}

  /** The answer kept for `key` at state `generation`; a new state empties the cache first. */
  get(generation: string, key: string): string | undefined {
    if (generation !== this.generation) {
      this.entries.clear();
      this.bytes = 0;
      this.generation = generation;
    }
    const answer = this.entries.get(key);
    if (answer === undefined) {
      this.misses += 1;
      return undefined;
    }
    this.hits += 1;
    this.entries.delete(key);
    this.entries.set(key, answer);
    return answer;
  }

  /**
   * Keeps `answer`, computed at state `generation`. If the state has moved on while the query ran,
   * the answer belongs to no current state and is not kept.
   */
  set(generation: string, key: string, answer: string): void {
    if (generation !== this.generation || this.entries.has(key)) return;
    const size = key.length + answer.length;
    if (size > this.maxBytes) return;
    for (const [oldest, value] of this.entries) {
      if (this.bytes + size <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= oldest.length + value.length;
    }
    this.entries.set(key, answer);
    this.bytes += size;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}

/** True when a GraphQL answer (JSON text) carries an `errors` list. */
export function hasErrors(answer: string): boolean {
  if (!answer.includes('"errors"')) return false;
  try {
    return Array.isArray((JSON.parse(answer) as { errors?: unknown }).errors);
  } catch {
    return true;
  }
}
