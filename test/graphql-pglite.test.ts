import { graphqlSuite } from "./helpers/graphql-suite.js";

graphqlSuite("pglite");
