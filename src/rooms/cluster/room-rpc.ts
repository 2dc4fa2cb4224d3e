import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError, toErrorBody, type ErrorBody } from '../../errors';
import type { Logger } from '../../logger';
import { NotOwnerError } from '../date/date-leases';
import type { RoomRequest } from '../date/room-request';

type Envelope =
  | { t: 'req'; id: string; from: string; req: RoomRequest }
  | { t: 'res'; id: string; ok: true; data: unknown }
  | { t: 'res'; id: string; ok: false; error: ErrorBody; notOwner?: boolean };

/** The owner did not answer in time. */
export class RpcTimeoutError extends Error {}
/** The instance asked is not (or no longer) the owner. */
export class RemoteNotOwnerError extends Error {}

export interface RoomRpcOptions {
  pub: Redis;
  /** A connection of the RPC's own: it subscribes, and close() quits it. */
  sub: Redis;
  prefix: string;
  instanceId: string;
  handle(req: RoomRequest): Promise<unknown>;
  log: Logger;
  /** Round trip at the sender ('request'), work at the owner ('serve'); outcome is ok, an error code or timeout. */
  timed?(side: 'request' | 'serve', op: RoomRequest['op'], outcome: string, seconds: number): void;
}

/**
 * Request/reply between instances over Redis pub/sub: a command that arrives
 * at an instance that does not own the date is sent to the owner's channel,
 * and the owner's answer comes back on the sender's.
 */
export class RoomRpc {
  private readonly pending = new Map<string, { resolve(v: unknown): void; reject(e: unknown): void; timer: NodeJS.Timeout }>();

  private listening = false;

  constructor(private readonly options: RoomRpcOptions) {}

  /** Safe to call again after it failed (Redis down at start). */
  async start(): Promise<void> {
    if (!this.listening) this.options.sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.onMessage(message.toString('utf8')));
    this.listening = true;
    await this.options.sub.subscribe(this.channel(this.options.instanceId));
  }

  request(instanceId: string, req: RoomRequest, timeoutMs: number): Promise<unknown> {
    const started = performance.now();
    const answer = this.send(instanceId, req, timeoutMs);
    answer.then(
      () => this.timed('request', req.op, 'ok', started),
      (err: unknown) => this.timed('request', req.op, outcomeOf(err), started),
    );
    return answer;
  }

  private send(instanceId: string, req: RoomRequest, timeoutMs: number): Promise<unknown> {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcTimeoutError(`owner ${instanceId} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const envelope: Envelope = { t: 'req', id, from: this.options.instanceId, req };
      this.options.pub.publish(this.channel(instanceId), JSON.stringify(envelope)).catch((err: unknown) => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }

  async close(): Promise<void> {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new RpcTimeoutError('closing'));
    }
    this.pending.clear();
    // The subscriber connection is the RPC's own: QUIT ends its subscription and closes it.
    await this.options.sub.quit().catch(() => undefined);
  }

  private onMessage(raw: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(raw) as Envelope;
    } catch {
      return;
    }
    if (envelope.t === 'req') {
      void this.serve(envelope);
      return;
    }
    const waiting = this.pending.get(envelope.id);
    if (!waiting) return;
    this.pending.delete(envelope.id);
    clearTimeout(waiting.timer);
    if (envelope.ok) waiting.resolve(envelope.data);
    else if (envelope.notOwner) waiting.reject(new RemoteNotOwnerError());
    else waiting.reject(new AppError(envelope.error.code, envelope.error.message, envelope.error.details));
  }

  private async serve({ id, from, req }: { id: string; from: string; req: RoomRequest }): Promise<void> {
    const started = performance.now();
    let reply: Envelope;
    try {
      reply = { t: 'res', id, ok: true, data: await this.options.handle(req) };
      this.timed('serve', req.op, 'ok', started);
    } catch (err) {
      this.timed('serve', req.op, outcomeOf(err), started);
      if (err instanceof NotOwnerError) {
        reply = { t: 'res', id, ok: false, error: toErrorBody(err), notOwner: true };
      } else {
        if (!(err instanceof AppError)) this.options.log.error({ err, op: req.op }, 'forwarded command failed');
        reply = { t: 'res', id, ok: false, error: toErrorBody(err) };
      }
    }
    await this.options.pub.publish(this.channel(from), JSON.stringify(reply)).catch(() => undefined);
  }

  private channel(instanceId: string): string {
    return `${this.options.prefix}rpc:${instanceId}`;
  }

  private timed(side: 'request' | 'serve', op: RoomRequest['op'], outcome: string, started: number): void {
    this.options.timed?.(side, op, outcome, (performance.now() - started) / 1000);
  }
}

function outcomeOf(err: unknown): string {
  if (err instanceof AppError) return err.code;
  if (err instanceof RpcTimeoutError) return 'timeout';
  if (err instanceof NotOwnerError || err instanceof RemoteNotOwnerError) return 'not_owner';
  return 'error';
}
