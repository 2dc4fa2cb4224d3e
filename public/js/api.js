/**
 * The wire: accounts and sessions (POST /users, /sessions…) over HTTP, everything else as Socket.IO events with
 * acknowledgements (PROTOCOL.md). A reply `{ok: false, error}` becomes a
 * thrown ApiError carrying the protocol error code.
 */

export class ApiError extends Error {
  /**
   * @param {string} code protocol error code (or TIMEOUT / NETWORK on the client side)
   * @param {string} message
   * @param {unknown} [details]
   */
  constructor(code, message, details) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.details = details;
  }
}

const ACK_TIMEOUT_MS = 15_000;

/** POSTs JSON; resolves the body of a 2xx answer, or throws ApiError with the protocol code. */
async function post(path, body, token) {
  let res;
  try {
    res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError('NETWORK', 'network error');
  }
  const answer = await res.json().catch(() => ({}));
  if (res.ok) return answer;
  const error = answer && answer.error ? answer.error : { code: res.status === 403 ? 'FORBIDDEN' : 'INTERNAL', message: res.statusText };
  throw new ApiError(error.code, error.message, error.details);
}

/** Creates an account; resolves `{user: {id, name}, token, refreshToken}`. */
export const signup = (name, password) => post('/users', { name, password });

/** A new session of an existing account; resolves `{user, token, refreshToken}`. */
export const signin = (name, password) => post('/sessions', { name, password });

/** A new pair for a single-use refresh token; resolves `{token, refreshToken}`. */
export const refresh = (refreshToken) => post('/sessions/refresh', { refreshToken });

/** Ends the session on the server (every device using it is signed out). */
export const logout = (token) => post('/sessions/logout', {}, token);

/**
 * One socket for the session. socket.io reconnects by itself; `onConnect`
 * runs on the first connection and on every reconnection, which is where the
 * client resynchronises (queue:status, seats:watch).
 */
export function connectSocket(getToken, { onConnect, onDisconnect, onUnauthorized }) {
  if (typeof window.io !== 'function') throw new ApiError('NETWORK', 'socket.io client did not load');
  // WebSocket only: no sticky sessions needed behind a load balancer (docs/api.md).
  // auth as a function: every reconnection presents the newest access token.
  const socket = window.io({ auth: (cb) => cb({ token: getToken() }), transports: ['websocket'] });
  socket.on('connect', () => onConnect(socket));
  socket.on('disconnect', (reason) => {
    onDisconnect(reason);
    // socket.io reconnects by itself except after a server-side disconnect (a restart or a drain
    // during a deploy); come back then too, after a pause with jitter so clients do not stampede.
    if (reason === 'io server disconnect') setTimeout(() => socket.connect(), 1000 + Math.random() * 2000);
  });
  socket.on('connect_error', (err) => {
    if (err && err.message === 'UNAUTHORIZED') {
      socket.disconnect();
      onUnauthorized(socket);
    } else {
      onDisconnect('connect_error');
    }
  });
  return socket;
}

/**
 * Emits `event` with an ack and resolves its `data`, or throws ApiError.
 * An emit made while disconnected is buffered by socket.io and sent on reconnect;
 * TIMEOUT means the outcome is unknown (the caller may retry idempotently).
 */
export async function call(socket, event, payload = {}, timeoutMs = ACK_TIMEOUT_MS) {
  let reply;
  try {
    reply = await socket.timeout(timeoutMs).emitWithAck(event, payload);
  } catch {
    throw new ApiError('TIMEOUT', `no answer to ${event} within ${timeoutMs} ms`);
  }
  if (reply && reply.ok === true) return reply.data;
  const error = reply && reply.error ? reply.error : { code: 'INTERNAL', message: 'malformed reply' };
  throw new ApiError(error.code, error.message, error.details);
}

/** A random key for Idempotency-Key: works outside secure contexts too (no randomUUID needed). */
export function newIdempotencyKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
