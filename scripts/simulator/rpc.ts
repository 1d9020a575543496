import { connect, type Socket } from "node:net";
import { SimulatorInputError } from "./errors.js";

type RpcResponse = { id: number; result?: unknown; error?: { code: number; message: string } };

export class RpcCallError extends Error {
  override name = "RpcCallError";
  constructor(
    readonly method: string,
    message: string,
  ) {
    super(`${method}: ${message}`);
  }
}

/** Reads are order-free; larger batches only save round trips. */
const READ_BATCH_SIZE = 500;

/**
 * A minimal JSON-RPC client: single calls and batches (arrays) over one keep-alive connection. A
 * node that cannot be reached is bad input (SimulatorInputError), not a simulator failure.
 */
export class JsonRpc {
  constructor(readonly url: string) {}

  private async post(body: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
      const code =
        cause?.code ??
        cause?.errors?.[0]?.code ??
        (cause as { message?: string } | undefined)?.message ??
        (error as Error).message;
      throw new SimulatorInputError(
        `cannot reach the chain at ${this.url} (${code}): start one with \`npm run devnet\` or pass --rpc URL`,
      );
    }
    if (!response.ok) throw new SimulatorInputError(`the chain at ${this.url} answered HTTP ${response.status}`);
    return response.json();
  }

  async call<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    const body = (await this.post({ jsonrpc: "2.0", id: 0, method, params })) as RpcResponse;
    if (body.error) throw new RpcCallError(method, body.error.message);
    return body.result as T;
  }

  /**
   * Calls that must reach the node in this order (transactions of different senders that depend
   * on each other), pipelined as separate HTTP/1.1 requests on one connection, which the server
   * handles one after the other. A JSON-RPC batch does not keep order: anvil runs its items
   * concurrently, and reorders them when other clients (an indexer) query it meanwhile.
   */
  async ordered(calls: readonly [string, unknown[]][]): Promise<{ result?: unknown; error?: { message: string } }[]> {
    if (calls.length === 0) return [];
    const { hostname, port, protocol, pathname } = new URL(this.url);
    if (protocol !== "http:") {
      const results = [];
      for (const call of calls) results.push(...(await this.batchSettled([call])));
      return results;
    }
    const bodies = calls.map(([method, params], id) => JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    const answers = await pipeline(hostname, Number(port || 80), pathname || "/", bodies).catch((error: Error) => {
      throw new SimulatorInputError(
        `cannot reach the chain at ${this.url} (${error.message}): start one with \`npm run devnet\` or pass --rpc URL`,
      );
    });
    return answers.map((answer) => {
      const parsed = JSON.parse(answer) as RpcResponse;
      return { result: parsed.result, error: parsed.error };
    });
  }

  /** One HTTP request per chunk of `chunkSize` calls, sent one after the other; results in call order. */
  async batch<T = unknown>(calls: readonly [string, unknown[]][], chunkSize = READ_BATCH_SIZE): Promise<T[]> {
    const settled = await this.batchSettled(calls, chunkSize);
    return settled.map((item, index) => {
      if (item.error) throw new RpcCallError(calls[index][0], item.error.message);
      return item.result as T;
    });
  }

  /** Like `batch`, but returns each call's result or error instead of throwing on the first error. */
  async batchSettled(
    calls: readonly [string, unknown[]][],
    chunkSize = READ_BATCH_SIZE,
  ): Promise<{ result?: unknown; error?: { message: string } }[]> {
    const results: { result?: unknown; error?: { message: string } }[] = [];
    for (let start = 0; start < calls.length; start += chunkSize) {
      const chunk = calls.slice(start, start + chunkSize);
      const body = chunk.map(([method, params], index) => ({ jsonrpc: "2.0", id: index, method, params }));
      const answer = (await this.post(body)) as RpcResponse[] | RpcResponse;
      if (!Array.isArray(answer)) throw new RpcCallError(chunk[0][0], answer.error?.message ?? "batch refused");
      const byId = new Array<RpcResponse>(chunk.length);
      for (const item of answer) byId[item.id] = item;
      for (const item of byId) results.push({ result: item?.result, error: item?.error });
    }
    return results;
  }
}

export const toQuantity = (value: number | bigint): string => `0x${value.toString(16)}`;

/** Writes every request at once on one connection and reads the answers in order (Content-Length bodies). */
function pipeline(host: string, port: number, path: string, bodies: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, host);
    socket.setNoDelay(true);
    const answers: string[] = [];
    let buffer: Buffer = Buffer.alloc(0);
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.on("error", (error: NodeJS.ErrnoException) => fail(new Error(error.code ?? error.message)));
    socket.on("close", () => {
      if (answers.length < bodies.length) fail(new Error(`connection closed after ${answers.length} answers`));
    });
    socket.on("data", (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      for (;;) {
        const headerEnd = buffer.indexOf("\r\n\r\n");
        if (headerEnd < 0) return;
        const head = buffer.subarray(0, headerEnd).toString("latin1");
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (!length) return fail(new Error(`answer without Content-Length: ${head.split("\r\n")[0]}`));
        const end = headerEnd + 4 + Number(length[1]);
        if (buffer.length < end) return;
        if (!head.startsWith("HTTP/1.1 200")) return fail(new Error(head.split("\r\n")[0]));
        answers.push(buffer.subarray(headerEnd + 4, end).toString("utf8"));
        buffer = buffer.subarray(end);
        if (answers.length === bodies.length) {
          socket.end();
          resolve(answers);
          return;
        }
      }
    });
    const requests = bodies.map(
      (body) =>
        `POST ${path} HTTP/1.1\r\nhost: ${host}:${port}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    socket.write(requests.join(""));
  });
}
