import type { QueueStatus } from './events';
import { rooms } from '../rooms/push';
import { defineCommand, type Command } from './command';
import { compile, id, object, queueToken } from './schemas';

/** What the queue commands need from the waiting rooms. */
export interface QueueService {
  join(userId: number, concertId: number): Promise<{ created: boolean; status: QueueStatus }>;
  status(userId: number, queueToken: string | undefined): Promise<QueueStatus>;
  leave(userId: number, queueToken: string | undefined): Promise<void>;
}

interface JoinInput {
  concertId: number;
}
interface TokenInput {
  queueToken?: string;
}
type JoinOutput = Awaited<ReturnType<QueueService['join']>>;

const validateJoin = compile<JoinInput>(object<JoinInput>({ concertId: id }, ['concertId']));
// Optional on purpose: a missing token is QUEUE_TOKEN_INVALID (401), not a schema failure.
const validateToken = compile<TokenInput>(object<TokenInput>({ queueToken }));

/**
 * queue:join, queue:status, queue:leave — and POST /queue/token, GET
 * /queue/status, POST /queue/leave through the same declarations. While the
 * entry is WAITING, the user's sockets are put in the concert's broadcast
 * group (by the waiting rooms, on every instance); the asking socket joins
 * here too, before its ack, so it misses no tick after the status it gets.
 */
export function queueCommands(service: QueueService): Command[] {
  return [
    defineCommand<JoinInput, JoinOutput>({
      name: 'queue:join',
      auth: 'user',
      validate: validateJoin,
      async run({ concertId }, ctx) {
        const out = await service.join(ctx.userId, concertId);
        if (ctx.socket && out.status.status === 'WAITING') await ctx.socket.join(rooms.queue(concertId));
        return out;
      },
      httpStatus: (out) => (out.created ? 201 : 200),
      reply: (out) => out.status,
    }),
    defineCommand<TokenInput, QueueStatus>({
      name: 'queue:status',
      auth: 'user',
      validate: validateToken,
      async run(input, ctx) {
        const status = await service.status(ctx.userId, input.queueToken);
        if (ctx.socket && status.status === 'WAITING') await ctx.socket.join(rooms.queue(status.concertId));
        return status;
      },
    }),
    defineCommand<TokenInput, Record<string, never>>({
      name: 'queue:leave',
      auth: 'user',
      validate: validateToken,
      async run(input, ctx) {
        await service.leave(ctx.userId, input.queueToken);
        return {};
      },
    }),
  ];
}
