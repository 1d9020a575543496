/**
 * The pure parts of the bot interfaces: cursors and filters (every refusal names the parameter),
 * the example bot's SSE parser, webhook signatures (the server's signer against the bot's verifier),
 * the retry schedule, and webhook subscription files.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SseParser, verifyWebhookSignature } from "../examples/slash-bot.js";
import { ROOT } from "../scripts/lib/compile.js";
import { blockNumberOfCursor, chainIdOfCursor, parseStart, stableEventId } from "../src/api/streams/cursor.js";
import {
  ACTIVITY_TYPES,
  eventPayload,
  filterFromJson,
  matchesFilter,
  parseStreamQuery,
  StreamQueryError,
} from "../src/api/streams/filters.js";
import { framesToSse } from "../src/api/streams/sse.js";
import { backoffCeiling, nextRetryDelay } from "../src/api/webhooks/backoff.js";
import { parseSubscription, readWebhooksFile, WebhookConfigError } from "../src/api/webhooks/config.js";
import { deliveryBody } from "../src/api/webhooks/dispatcher.js";
import { signatureHeader, verifySignature } from "../src/api/webhooks/signature.js";

const CURSOR = "179565499900000000000313370000000000000032000000000000000050000000000000001";
const ADDRESS = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

function refusal(kind: "slashes" | "activity", query: string, lastEventId?: string): string {
  try {
    parseStreamQuery(kind, new URLSearchParams(query).entries(), lastEventId, 30);
  } catch (error) {
    expect(error).toBeInstanceOf(StreamQueryError);
    return (error as Error).message;
  }
  throw new Error(`expected ${query} to be refused`);
}

describe("cursors", () => {
  it("parses cursors, 0 and now, and decodes the chain and block", () => {
    expect(parseStart(CURSOR)).toEqual({ kind: "after", cursor: CURSOR });
    expect(parseStart("0")).toEqual({ kind: "after", cursor: "" });
    expect(parseStart("now")).toEqual({ kind: "now" });
    for (const bad of ["", "12", `${CURSOR}0`, `x${CURSOR.slice(1)}`, "-1", `${CURSOR}:`]) {
      expect(parseStart(bad)).toBeUndefined();
    }
    expect(chainIdOfCursor(CURSOR)).toBe(31337);
    expect(blockNumberOfCursor(CURSOR)).toBe(32n);
    expect(stableEventId(31337, "0xABC", 4)).toBe("31337:0xabc:4");
  });
});

describe("stream queries", () => {
  it("accepts the documented parameters", () => {
    const query = parseStreamQuery(
      "slashes",
      new URLSearchParams(
        `staker=${ADDRESS},${ADDRESS.toLowerCase()}&reason=1,2&minAmount=100&confirmations=3&after=0`,
      ),
      undefined,
      30,
    );
    expect(query).toEqual({
      filter: { kind: "slashes", stakers: [ADDRESS.toLowerCase()], reasons: [1, 2], minAmount: 100n },
      start: { kind: "after", cursor: "" },
      confirmations: 3,
    });
    const activity = parseStreamQuery(
      "activity",
      new URLSearchParams("type=slashed,InvoiceIssued&type=Staked"),
      CURSOR,
      30,
    );
    expect(activity.filter).toEqual({ kind: "activity", types: ["Slashed", "InvoiceIssued", "Staked"] });
    // Last-Event-ID wins over ?after= (a reconnecting EventSource sends both).
    expect(activity.start).toEqual({ kind: "after", cursor: CURSOR });
  });

  it("refuses unknown parameters and malformed values, naming them", () => {
    expect(refusal("slashes", "stakr=0x1")).toMatch(/Unknown parameter "stakr".*accepts after, staker/);
    expect(refusal("slashes", "type=Slashed")).toMatch(/Unknown parameter "type"/);
    expect(refusal("slashes", "staker=0x12")).toMatch(/"staker": "0x12" is not an address/);
    expect(refusal("slashes", "staker=")).toMatch(/"staker" has an empty value/);
    expect(refusal("slashes", "reason=300")).toMatch(/"reason"/);
    expect(refusal("slashes", "minAmount=1e18")).toMatch(/"minAmount"/);
    expect(refusal("slashes", "minAmount=1&minAmount=2")).toMatch(/given 2 times/);
    expect(refusal("slashes", "after=123")).toMatch(/"after": "123" is not a cursor/);
    expect(refusal("slashes", "", "garbage")).toMatch(/Last-Event-ID/);
    expect(refusal("slashes", "confirmations=31")).toMatch(/0 to 30/);
    expect(refusal("activity", "type=Slashd")).toMatch(/"type": "Slashd" is not an event type/);
    expect(refusal("activity", "invoiceId=abc")).toMatch(/"invoiceId"/);
  });

  it("matches rows as the SQL filters do", () => {
    const row = {
      id: CURSOR,
      blockNumber: 32n,
      logIndex: 1,
      timestamp: 1n,
      txHash: "0x1",
      staker: ADDRESS.toLowerCase(),
      reason: 2,
      amount: 50n,
    };
    expect(matchesFilter({ kind: "slashes" }, row)).toBe(true);
    expect(
      matchesFilter({ kind: "slashes", stakers: [ADDRESS.toLowerCase()], reasons: [2], minAmount: 50n }, row),
    ).toBe(true);
    expect(matchesFilter({ kind: "slashes", minAmount: 51n }, row)).toBe(false);
    expect(matchesFilter({ kind: "slashes", reasons: [1] }, row)).toBe(false);
    const activity = { ...row, type: "Slashed", account: null, invoiceId: null };
    expect(matchesFilter({ kind: "activity", types: ["Slashed"] }, activity)).toBe(true);
    expect(matchesFilter({ kind: "activity", accounts: [ADDRESS.toLowerCase()] }, activity)).toBe(false);
  });

  it("lists exactly the event types the indexer writes to activity", () => {
    const registered = new Set<string>();
    for (const file of readdirSync(path.join(ROOT, "src")).filter((name) => name.endsWith(".ts"))) {
      for (const match of readFileSync(path.join(ROOT, "src", file), "utf8").matchAll(/ponder\.on\("\w+:(\w+)"/g)) {
        registered.add(match[1]);
      }
    }
    expect([...registered].sort()).toEqual([...ACTIVITY_TYPES].sort());
  });

  it("formats events with the stable id, the cursor as the SSE id, and bigints as strings", () => {
    const row = {
      id: CURSOR,
      blockNumber: 32n,
      logIndex: 1,
      timestamp: 1795654999n,
      txHash: "0xabc",
      staker: "0xaa",
      reason: 1,
      amount: 10n ** 18n,
      invoiceId: null,
    };
    const payload = eventPayload("slashes", row);
    expect(payload).toMatchObject({
      id: "31337:0xabc:1",
      cursor: CURSOR,
      blockNumber: "32",
      amount: "1000000000000000000",
    });
    const text = framesToSse("slashes", [{ kind: "event", row, cursor: CURSOR }]);
    expect(text).toBe(`event: slash\nid: ${CURSOR}\ndata: ${JSON.stringify(payload)}\n\n`);
  });
});

describe("the example bot's SSE parser", () => {
  it("handles messages split anywhere, CRLF, comments, multi-line data and sticky ids", () => {
    const stream =
      ': hello\r\nretry: 500\r\n\r\nevent: slash\r\nid: 1\r\ndata: {"a":\r\ndata: 1}\r\n\r\n: heartbeat\n\nevent: retracted\ndata: x\n\n';
    for (const size of [1, 2, 3, 7, stream.length]) {
      const parser = new SseParser();
      const messages = [];
      for (let i = 0; i < stream.length; i += size) messages.push(...parser.push(stream.slice(i, i + size)));
      expect(messages).toEqual([
        { event: "slash", data: '{"a":\n1}', id: "1", retry: undefined },
        { event: "retracted", data: "x", id: "1", retry: undefined },
      ]);
      expect(parser.lastEventId).toBe("1");
    }
  });
});

describe("webhook signatures", () => {
  const secret = "whsec_0123456789abcdef";
  const body = JSON.stringify({ event: "slash", id: "31337:0xabc:1" });

  it("verifies what the dispatcher signs, in the server's and the example bot's verifier", () => {
    const header = signatureHeader(secret, body, 1_700_000_000);
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature(secret, header, body, { now: 1_700_000_010 })).toEqual({
      ok: true,
      timestamp: 1_700_000_000,
    });
    expect(verifyWebhookSignature(secret, header, body, 300, 1_700_000_010)).toBe(true);
  });

  it("rejects a tampered body, a wrong secret, an old timestamp and a malformed header", () => {
    const now = 1_700_000_000;
    const header = signatureHeader(secret, body, now);
    const tampered = body.replace("0xabc", "0xabd");
    expect(verifyWebhookSignature(secret, header, tampered, 300, now)).toBe(false);
    expect(verifySignature(secret, header, tampered, { now })).toMatchObject({ ok: false, reason: /does not match/ });
    expect(verifyWebhookSignature("whsec_other_secret_123", header, body, 300, now)).toBe(false);
    expect(verifyWebhookSignature(secret, header, body, 300, now + 301)).toBe(false);
    expect(verifySignature(secret, header, body, { now: now + 301 })).toMatchObject({ reason: /tolerance/ });
    for (const bad of [undefined, "", "t=1", "v1=abc", `t=x,v1=${"0".repeat(64)}`]) {
      expect(verifyWebhookSignature(secret, bad, body, 300, now)).toBe(false);
      expect(verifySignature(secret, bad, body, { now }).ok).toBe(false);
    }
    // Several v1 values (secret rotation): one match is enough.
    const rotated = `${header},v1=${"0".repeat(64)}`;
    expect(verifyWebhookSignature(secret, rotated, body, 300, now)).toBe(true);
  });

  it("builds delivery bodies with the event, its ids and its data", () => {
    const row = { id: CURSOR, blockNumber: 32n, logIndex: 1, timestamp: 1n, txHash: "0xabc", amount: 5n };
    const parsed = JSON.parse(deliveryBody("slashes", "ops", { kind: "retracted", row, cursor: CURSOR }));
    expect(parsed).toMatchObject({ event: "retracted", id: "31337:0xabc:1", cursor: CURSOR, subscription: "ops" });
    expect(parsed.data.amount).toBe("5");
  });
});

describe("retry schedule", () => {
  const policy = { baseMs: 100, capMs: 1_000, maxAttempts: 5 };

  it("grows exponentially up to the cap, with full jitter, and parks after the last attempt", () => {
    expect([1, 2, 3, 4, 5, 6].map((attempts) => backoffCeiling(policy, attempts))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(nextRetryDelay(policy, 3, () => 0)).toBe(0);
    expect(nextRetryDelay(policy, 3, () => 0.999999)).toBe(400);
    for (let i = 0; i < 100; i++) {
      const delay = nextRetryDelay(policy, 2) as number;
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(200);
    }
    expect(nextRetryDelay(policy, 5)).toBeUndefined();
  });
});

describe("webhook subscriptions", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "openledger-webhooks-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const options = { where: "subscription", maxConfirmations: 30, generate: false };

  it("validates a subscription and names the bad field", () => {
    const spec = parseSubscription(
      {
        id: "ops",
        url: "http://127.0.0.1:9/hook",
        secret: "0123456789abcdef",
        filters: { staker: [ADDRESS], minAmount: "5" },
        confirmations: 2,
      },
      options,
    );
    expect(spec).toMatchObject({
      id: "ops",
      kind: "slashes",
      filter: { kind: "slashes", stakers: [ADDRESS.toLowerCase()], minAmount: 5n },
      confirmations: 2,
      start: { kind: "now" },
      enabled: true,
    });
    const fail = (input: Record<string, unknown>) => {
      try {
        parseSubscription({ id: "ops", url: "http://x/", secret: "0123456789abcdef", ...input }, options);
      } catch (error) {
        expect(error).toBeInstanceOf(WebhookConfigError);
        return (error as Error).message;
      }
      throw new Error("expected a refusal");
    };
    expect(fail({ url: "ftp://x/" })).toMatch(/"url" must be http/);
    expect(fail({ secret: "short" })).toMatch(/"secret"/);
    expect(fail({ stream: "blocks" })).toMatch(/"stream"/);
    expect(fail({ filters: { staker: "0x1" } })).toMatch(/"staker"/);
    expect(fail({ confirmations: 99 })).toMatch(/at most 30/);
    expect(fail({ after: "yesterday" })).toMatch(/"after"/);
    expect(fail({ colour: "red" })).toMatch(/unknown field "colour"/);
    expect(fail({ secretEnv: "NO_SUCH_VARIABLE_FOR_TESTS" })).toMatch(/NO_SUCH_VARIABLE_FOR_TESTS is not set/);
    expect(() => filterFromJson("activity", { type: "Nope" })).toThrow(/not an event type/);
    const generated = parseSubscription({ url: "https://example.com/" }, { ...options, generate: true });
    expect(generated.id).toMatch(/^sub_/);
    expect(generated.secret).toMatch(/^whsec_[0-9a-f]{48}$/);
  });

  it("reads WEBHOOKS_FILE, with secrets from the environment, and refuses duplicate ids", () => {
    const file = path.join(dir, "webhooks.json");
    writeFileSync(
      file,
      JSON.stringify({
        subscriptions: [{ id: "a", url: "http://127.0.0.1:1/", secretEnv: "HOOK_SECRET", stream: "activity" }],
      }),
    );
    const [spec] = readWebhooksFile(file, 30, { HOOK_SECRET: "from-the-environment" });
    expect(spec).toMatchObject({ id: "a", secret: "from-the-environment", kind: "activity" });
    writeFileSync(
      file,
      JSON.stringify([
        { id: "a", url: "http://x/", secret: "0123456789abcdef" },
        { id: "a", url: "http://y/", secret: "0123456789abcdef" },
      ]),
    );
    expect(() => readWebhooksFile(file, 30)).toThrow(/"a" is used twice/);
    writeFileSync(file, "{");
    expect(() => readWebhooksFile(file, 30)).toThrow(WebhookConfigError);
  });
});
