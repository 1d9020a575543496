import { describe, it } from "vitest";
import { postgresUnavailableReason } from "../harness/postgres.js";
import { indexerSuite } from "./helpers/indexer-suite.js";

const unavailable = postgresUnavailableReason();
if (unavailable) {
  console.log(unavailable);
  describe.skip("indexer on PostgreSQL", () => it.skip(unavailable, () => {}));
} else {
  indexerSuite("postgres");
}
