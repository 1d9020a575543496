import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import path from "node:path";
import type { Ledger } from "./ledger.js";

/** Sections written entry by entry: a million-invoice ledger is too big for one JSON.stringify. */
const LARGE_SECTIONS = new Set<string>([
  "invoices",
  "accounts",
  "earningsDaily",
  "modelDaily",
  "slashes",
  "stakeChanges",
  "datasetDaily",
  "datanetDaily",
  "credits",
  "claims",
]);

/**
 * Writes a ledger as JSON (one entry per line in the large sections, so that diffs stay readable),
 * through a temporary file renamed at the end: a reader never sees half a ledger.
 */
export function writeLedger(file: string, ledger: Ledger) {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const temporary = `${file}.tmp-${process.pid}`;
  const fd = openSync(temporary, "w");
  let buffer = "";
  const write = (text: string) => {
    buffer += text;
    if (buffer.length > 1 << 20) {
      writeSync(fd, buffer);
      buffer = "";
    }
  };
  try {
    write("{");
    Object.entries(ledger).forEach(([key, value], sectionIndex) => {
      write(`${sectionIndex === 0 ? "" : ","}\n${JSON.stringify(key)}: `);
      if (!LARGE_SECTIONS.has(key)) {
        write(JSON.stringify(value));
        return;
      }
      if (Array.isArray(value)) {
        write("[");
        value.forEach((item, index) => {
          write(`${index === 0 ? "" : ","}\n  ${JSON.stringify(item)}`);
        });
        write("\n]");
        return;
      }
      write("{");
      Object.entries(value as Record<string, unknown>).forEach(([entryKey, entry], index) => {
        write(`${index === 0 ? "" : ","}\n  ${JSON.stringify(entryKey)}: ${JSON.stringify(entry)}`);
      });
      write("\n}");
    });
    write("\n}\n");
    writeSync(fd, buffer);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
}

/** Reads a ledger written by `writeLedger` (or any JSON of the Ledger type). */
export function readLedger(file: string): Ledger {
  return JSON.parse(readFileSync(file, "utf8")) as Ledger;
}
