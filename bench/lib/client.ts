import type { Socket } from 'socket.io-client';
import { connect as connectSocket, request, send, signUp, type CommandName, type CommandPayload } from '../../src/client';

/** What every ack carries (PROTOCOL.md "Replies and errors"); ACK_TIMEOUT is the generator's own. */
export type Reply<T = any> = { ok: true; data: T } | { ok: false; error: { code: string; message?: string; details?: any } };

/** A command through the typed client (its payload checked against the protocol); a missing ack becomes ACK_TIMEOUT / DISCONNECTED. */
export async function ack<E extends CommandName, T = any>(socket: Socket, event: E, payload: CommandPayload<E>, timeoutMs: number): Promise<Reply<T>> {
  try {
    return (await send(socket, event, payload, timeoutMs)) as Reply<T>;
  } catch {
    return { ok: false, error: { code: socket.connected ? 'ACK_TIMEOUT' : 'DISCONNECTED' } };
  }
}

/** Connects over WebSocket only, no reconnection; resolves with the socket or the connect_error message. */
export async function connect(url: string, token: string, timeoutMs = 20_000): Promise<{ socket: Socket } | { error: string }> {
  try {
    return { socket: await connectSocket(url, token, { timeout: timeoutMs }) };
  } catch (err) {
    return { error: (err instanceof Error && err.message) || 'connect_error' };
  }
}

export async function httpJson<T = any>(
  url: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T }> {
  const { status, body } = await request<T>(url, method, path, options);
  return { status, body };
}

/** A passwordless account (the server runs with ALLOW_PASSWORDLESS_SIGNUP=true): no scrypt per buyer. */
export async function signup(url: string, name: string): Promise<{ id: number; token: string }> {
  const session = await signUp(url, name);
  return { id: session.user.id, token: session.token };
}

/** Runs at most `limit` tasks at once. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

/** mulberry32: a small seeded generator, so a run's choices repeat with its --seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
