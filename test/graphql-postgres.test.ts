import { describe, it } from "vitest";
import { graphqlSuite } from "./helpers/graphql-suite.js";
import { postgresUnavailableReason } from "./helpers/postgres.js";

const unavailable = postgresUnavailableReason();
if (unavailable) {
  console.log(unavailable);
  describe.skip("GraphQL on PostgreSQL", () => it.skip(unavailable, () => {}));
} else {
  graphqlSuite("postgres");
}
