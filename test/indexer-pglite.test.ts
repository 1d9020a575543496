import { indexerSuite } from "./helpers/indexer-suite.js";

indexerSuite("pglite");
