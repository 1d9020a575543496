import { crashSuite } from "../helpers/crash-suite.js";

crashSuite("pglite");
