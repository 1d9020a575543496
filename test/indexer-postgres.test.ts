import { describe, it } from "vitest";
import { indexerSuite } from "./helpers/indexer-suite.js";
import { postgresUnavailableReason } from "./helpers/postgres.js";

const unavailable = postgresUnavailableReason();
if (unavailable) {
  console.log(unavailable);
  describe.skip("indexer on PostgreSQL", () => it.skip(unavailable, () => {}));
} else {
  indexerSuite("postgres");
}
