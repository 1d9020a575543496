import { describe, it } from "vitest";
import { postgresUnavailableReason } from "../harness/postgres.js";
import { graphqlSuite } from "./helpers/graphql-suite.js";

const unavailable = postgresUnavailableReason();
if (unavailable) {
  console.log(unavailable);
  describe.skip("GraphQL on PostgreSQL", () => it.skip(unavailable, () => {}));
} else {
  graphqlSuite("postgres");
}
