/**
 * Webhook signatures: `X-OpenLedger-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
 * under the subscription's secret. The timestamp is signed with the body so that a captured delivery
 * cannot be replayed later with a fresh time; receivers check both (README, "For bots"). Pure.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** The signature header's name. */
export const SIGNATURE_HEADER = "X-OpenLedger-Signature";
/** How far a signature's time may be from the receiver's clock by default (5 minutes, as Stripe). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** Hex HMAC-SHA256 of `<t>.<body>`. */
export function computeSignature(secret: string, timestamp: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

/** The header value for a body sent at `timestamp` (unix seconds). */
export function signatureHeader(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${computeSignature(secret, timestamp, body)}`;
}

export type VerifyResult = { ok: true; timestamp: number } | { ok: false; reason: string };

/**
 * Checks a delivery: the header parses, its time is within `toleranceSeconds` of `now`, and one of
 * its v1 signatures (several are allowed, for secret rotation) matches the exact body bytes.
 * Compares in constant time.
 */
export function verifySignature(
  secret: string,
  header: string | null | undefined,
  body: string,
  options: { toleranceSeconds?: number; now?: number } = {},
): VerifyResult {
  if (!header) return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [key, value] = part.trim().split("=", 2);
    if (key === "t" && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === "v1" && value && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: "malformed signature header" };
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - timestamp) > tolerance) return { ok: false, reason: "signature timestamp outside the tolerance" };
  const expected = Buffer.from(computeSignature(secret, timestamp, body), "hex");
  const matches = signatures.some((signature) => timingSafeEqual(Buffer.from(signature, "hex"), expected));
  return matches ? { ok: true, timestamp } : { ok: false, reason: "signature does not match the body" };
}
