import type { QueueStatus } from '../protocol/events';
import { groups } from '../protocol/groups';
import type { Challenge } from '../rooms/queue/queue-door';
import type { BeforeRead, Knock } from '../rooms/queue/waiting-room-registry';
import { defineCommand, type AppSocket, type Command, type CommandContext } from './command';
import { compile, id, object, queueToken, type Validated } from './schemas';

/** What the queue commands need from the waiting rooms. */
export interface QueueService {
  join(userId: number, concertId: number, beforeRead?: BeforeRead, knock?: Knock): Promise<{ created: boolean; status: QueueStatus }>;
  challenge(concertId: number): Promise<Challenge>;
  status(userId: number, queueToken: string | undefined, beforeRead?: BeforeRead): Promise<QueueStatus>;
  leave(userId: number, queueToken: string | undefined): Promise<void>;
}

type JoinOutput = Awaited<ReturnType<QueueService['join']>>;

// The solution is a base64 ALTCHA payload: a few hundred characters.
const validateJoin = compile(object({ concertId: id, solution: { type: 'string', minLength: 1, maxLength: 2000 } }, ['concertId']));
const validateConcert = compile(object({ concertId: id }, ['concertId']));
type JoinInput = Validated<typeof validateJoin>;
// Optional on purpose: a missing token is QUEUE_TOKEN_INVALID (401), not a schema failure.
const validateToken = compile(object({ queueToken }));
type TokenInput = Validated<typeof validateToken>;

/**
 * queue:join, queue:status, queue:leave — and POST /queue/token, GET
 * /queue/status, POST /queue/leave through the same declarations. While the
 * entry is WAITING, the user's sockets are in the concert's broadcast group
 * (the waiting rooms put them there, on every instance). The asking socket
 * joins before the entry is read, so no tick falls between its status and
 * its first broadcast, and leaves again if the entry is not WAITING.
 */
export function queueCommands(service: QueueService): Command[] {
  // A ticket never goes back to WAITING, so once a socket has read its token past WAITING the
  // join would only be undone again: later reads of that token skip it (a poll of an admitted
  // buyer). Per socket, the last such token; a WeakMap so a closed socket takes it along.
  const settled = new WeakMap<AppSocket, string>();
  return [
    defineCommand<JoinInput, JoinOutput>({
      name: 'queue:join',
      auth: 'user',
      validate: validateJoin,
      run: ({ concertId, solution }, ctx) => followed(ctx, (before) => service.join(ctx.userId, concertId, before, { ip: ctx.ip, solution }), (out) => out.status),
      httpStatus: (out) => (out.created ? 201 : 200),
      reply: (out) => out.status,
    }),
    defineCommand({
      name: 'queue:challenge',
      auth: 'user',
      validate: validateConcert,
      run: async ({ concertId }) => ({ challenge: await service.challenge(concertId) }),
    }),
    defineCommand<TokenInput, QueueStatus>({
      name: 'queue:status',
      auth: 'user',
      validate: validateToken,
      async run({ queueToken }, ctx) {
        const { socket } = ctx;
        if (!socket || queueToken === undefined) return followed(ctx, (before) => service.status(ctx.userId, queueToken, before), (status) => status);
        if (settled.get(socket) === queueToken) return service.status(ctx.userId, queueToken);
        const status = await followed(ctx, (before) => service.status(ctx.userId, queueToken, before), (out) => out);
        if (status.status !== 'WAITING') settled.set(socket, queueToken);
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

/** Runs a queue read with the socket (if any) in the concert's tick broadcast only while the entry waits. */
async function followed<T>({ socket, join }: CommandContext, read: (before?: BeforeRead) => Promise<T>, statusOf: (out: T) => QueueStatus): Promise<T> {
  if (!socket || !join) return read();
  // Only a group this read added is undone: a socket already following (another entry of the
  // user, another tab's join) stays in.
  let joined: string | undefined;
  const before: BeforeRead = async (concertId) => {
    const room = groups.queue(concertId);
    if (socket.rooms.has(room)) return;
    joined = room;
    await join(room);
  };
  try {
    const out = await read(before);
    if (joined && statusOf(out).status !== 'WAITING') await socket.leave(joined);
    return out;
  } catch (err) {
    if (joined) await socket.leave(joined);
    throw err;
  }
}
