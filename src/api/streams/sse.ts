/**
 * One Server-Sent Events connection with a bounded queue. The response body is a ReadableStream
 * whose queue is measured in bytes: the HTTP server pulls from it only as fast as the socket
 * drains, so a client that does not read makes the queue grow. Past `maxQueueBytes`, or after
 * `stallMs` without a pull while data waits, the connection is dropped (its socket destroyed), so
 * that one stuck reader costs bounded memory and never slows the shared fan-out.
 */
import type { Frame, FrameSink } from "./core.js";
import { eventPayload, type StreamKind } from "./filters.js";

export type SseLimits = {
  /** Bytes queued beyond what the socket took before the client is dropped. */
  maxQueueBytes: number;
  /** How long data may wait without the client reading before it is dropped. */
  stallMs: number;
};

/** Below this many queued bytes the stream asks for more (catch-up pages are paced by it). */
const HIGH_WATER_MARK = 64 * 1024;
const encoder = new TextEncoder();

/** One SSE message: `event:` and `id:` lines, then the JSON on one `data:` line. */
export function sseMessage(event: string, id: string, data: unknown): string {
  return `event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** An SSE comment (ignored by EventSource): heartbeats and notices. */
export function sseComment(text: string): string {
  return `: ${text.replaceAll("\n", " ")}\n\n`;
}

/**
 * The SSE messages of a consumer's frames. The `id:` line is the stream's cursor after the frame
 * (what `Last-Event-ID` must carry to resume exactly); the payload has the stable `id`
 * (`chainId:txHash:logIndex`) and the row's own `cursor`.
 */
export function framesToSse(kind: StreamKind, frames: readonly Frame[]): string {
  const eventName = kind === "slashes" ? "slash" : "activity";
  let text = "";
  for (const frame of frames) {
    const payload = eventPayload(kind, frame.row);
    text += sseMessage(frame.kind === "event" ? eventName : "retracted", frame.cursor, payload);
  }
  return text;
}

export type CloseReason = "client" | "slow" | "stalled" | "shutdown" | "error";

/** The FrameSink of an HTTP client. */
export class SseConnection implements FrameSink {
  readonly body: ReadableStream<Uint8Array>;
  open = true;
  closeReason: CloseReason | undefined;
  /** Messages (events and retractions) written, for /streams stats. */
  sent = 0;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private lastPullAt = Date.now();
  private demandWaiters: (() => void)[] = [];
  private closeListeners: ((reason: CloseReason) => void)[] = [];

  /**
   * @param destroySocket ends the TCP connection at once (a dropped client's socket may be full, so
   *   the HTTP server would otherwise wait for it forever).
   */
  constructor(
    readonly kind: StreamKind,
    readonly limits: SseLimits,
    private readonly destroySocket?: () => void,
  ) {
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => {
          this.lastPullAt = Date.now();
          for (const waiter of this.demandWaiters.splice(0)) waiter();
        },
        cancel: () => this.close("client"),
      },
      new ByteLengthQueuingStrategy({ highWaterMark: HIGH_WATER_MARK }),
    );
  }

  onClose(listener: (reason: CloseReason) => void) {
    if (!this.open) listener(this.closeReason ?? "client");
    else this.closeListeners.push(listener);
  }

  /** Bytes waiting in this process for the socket. */
  get queuedBytes(): number {
    return HIGH_WATER_MARK - (this.controller.desiredSize ?? HIGH_WATER_MARK);
  }

  /** Queues raw SSE text; drops the client when the queue is over its bound. */
  writeText(text: string) {
    if (!this.open || text === "") return;
    this.controller.enqueue(encoder.encode(text));
    if (this.queuedBytes > this.limits.maxQueueBytes) this.drop("slow");
  }

  write(frames: Frame[]) {
    if (!this.open || frames.length === 0) return;
    this.sent += frames.length;
    this.writeText(framesToSse(this.kind, frames));
  }

  comment(text: string) {
    this.writeText(sseComment(text));
  }

  /** True when data has waited `stallMs` without the client reading: called by the heartbeat. */
  isStalled(now = Date.now()): boolean {
    return this.open && (this.controller.desiredSize ?? 1) <= 0 && now - this.lastPullAt > this.limits.stallMs;
  }

  async demand(): Promise<void> {
    if (!this.open || (this.controller.desiredSize ?? 0) > 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.drop("stalled");
        resolve();
      }, this.limits.stallMs);
      this.demandWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Drops a client that does not keep up: its socket is destroyed, whatever it has not read is lost. */
  drop(reason: "slow" | "stalled" | "error") {
    if (!this.open) return;
    this.finish(reason);
    if (this.destroySocket) this.destroySocket();
    else {
      try {
        this.controller.error(new Error(`stream client dropped (${reason})`));
      } catch {
        // already errored or closed
      }
    }
  }

  /** Ends the stream normally (client gone, or the server shutting down). */
  close(reason: "client" | "shutdown") {
    if (!this.open) return;
    this.finish(reason);
    try {
      this.controller.close();
    } catch {
      // already closed by the reader's cancel
    }
  }

  private finish(reason: CloseReason) {
    this.open = false;
    this.closeReason = reason;
    for (const waiter of this.demandWaiters.splice(0)) waiter();
    for (const listener of this.closeListeners.splice(0)) listener(reason);
  }
}
