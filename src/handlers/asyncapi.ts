import type { PushSchema } from '../protocol/push-schemas';
import type { Command } from './command';
import { inputSchema, type ApiInfo } from './openapi';

/**
 * AsyncAPI 3 for the Socket.IO default namespace, from the same command
 * table as REST: every socket-mounted command is a message the server
 * receives and answers with an ack; every push is a message it sends. The
 * operator's `/admin` namespace is a channel of its own (pushes only).
 */
type Schema = Record<string, unknown>;

/** AsyncAPI component keys allow [A-Za-z0-9_.-]; event names use ':'. */
export const messageId = (event: string): string => event.replace(/[^A-Za-z0-9_.-]/g, '_');

const CHANNEL = 'socket';
const ADMIN_CHANNEL = 'admin';
const ref = (...path: string[]) => ({ $ref: `#/${path.join('/')}` });

const ackSchema = {
  description: 'every command event is answered by exactly one ack',
  oneOf: [
    { type: 'object', required: ['ok', 'data'], properties: { ok: { const: true }, data: {} } },
    {
      type: 'object',
      required: ['ok', 'error'],
      properties: {
        ok: { const: false },
        error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } } },
      },
    },
  ],
};

export function buildAsyncApi(info: ApiInfo, commands: Iterable<Command>, pushes: Readonly<Record<string, PushSchema>>, adminPushes: Readonly<Record<string, PushSchema>> = {}): Schema {
  const messages: Record<string, Schema> = { ack: { name: 'ack', title: 'Ack (reply to a command)', payload: ackSchema } };
  const operations: Record<string, Schema> = {};
  for (const command of commands) {
    if (command.httpOnly) continue;
    const id = messageId(command.name);
    messages[id] = {
      name: command.name,
      title: command.name,
      summary: `client → server; auth: ${command.auth}`,
      payload: inputSchema(command),
      'x-auth': command.auth,
    };
    operations[id] = {
      action: 'receive',
      title: command.name,
      channel: ref('channels', CHANNEL),
      messages: [ref('channels', CHANNEL, 'messages', id)],
      reply: { channel: ref('channels', CHANNEL), messages: [ref('channels', CHANNEL, 'messages', 'ack')] },
    };
  }
  for (const [event, push] of Object.entries(pushes)) {
    // An event can be both a command and a push (queue:status): each keeps its own message.
    const id = messages[messageId(event)] ? messageId(`${event}:push`) : messageId(event);
    messages[id] = { name: event, title: event, summary: `server → client; to ${push.to}`, payload: structuredClone(push.payload) };
    operations[id] = {
      action: 'send',
      title: event,
      channel: ref('channels', CHANNEL),
      messages: [ref('channels', CHANNEL, 'messages', id)],
    };
  }
  const adminMessages: Record<string, Schema> = {};
  for (const [event, push] of Object.entries(adminPushes)) {
    const id = messageId(event);
    adminMessages[id] = { name: event, title: event, summary: `server → operator; to ${push.to}`, payload: structuredClone(push.payload) };
    operations[id] = {
      action: 'send',
      title: event,
      channel: ref('channels', ADMIN_CHANNEL),
      messages: [ref('channels', ADMIN_CHANNEL, 'messages', id)],
      security: [ref('components', 'securitySchemes', 'adminToken')],
    };
  }
  const adminChannel = { address: '/admin', title: 'Socket.IO namespace /admin (the operator, auth: {token: ADMIN_TOKEN})', messages: adminMessages };
  return {
    asyncapi: '3.0.0',
    info,
    defaultContentType: 'application/json',
    servers: {
      local: {
        host: 'localhost:3000',
        protocol: 'ws',
        pathname: '/socket.io/',
        description: 'Socket.IO (Engine.IO 4) on the HTTP port; connect with `transports: ["websocket"]`',
        security: [ref('components', 'securitySchemes', 'token')],
      },
    },
    channels: {
      [CHANNEL]: { address: '/', title: 'Socket.IO default namespace', messages },
      ...(Object.keys(adminMessages).length > 0 ? { [ADMIN_CHANNEL]: adminChannel } : {}),
    },
    operations,
    components: {
      securitySchemes: {
        token: {
          type: 'apiKey',
          in: 'user',
          description: 'the JWT from POST /users, sent in the Socket.IO handshake as `auth: {token}`',
        },
        adminToken: {
          type: 'apiKey',
          in: 'user',
          description: 'ADMIN_TOKEN, sent in the `/admin` namespace handshake as `auth: {token}`',
        },
      },
    },
  };
}
