import type { AppSocket } from './command';

/** Who a request or a socket runs as: the user and, for our own access tokens, the session. */
export interface Identity {
  userId: number;
  sessionId?: string;
}

/** Turns an access token into an identity, or throws UNAUTHORIZED. */
export interface Authenticator {
  authenticate(token: unknown): Promise<Identity>;
  /**
   * Whether this instance has seen `sessionId` revoked. A handshake checks it once its socket is
   * connected: the token was verified earlier, and a revocation processed in between found no
   * socket of the session to close.
   */
  isRevoked?(sessionId: string): boolean;
}

/** What the account commands need from the session machinery of the instance. */
export interface SessionControl extends Authenticator {
  /** This instance just opened or rotated the session: its first socket need not read it back. */
  issued(session: { sessionId: string; userId: number }): void;
  /** The session was revoked: drop it from every instance's cache and disconnect its sockets. */
  revoked(sessionId: string): Promise<void>;
  /** The socket now runs as `identity` (same user, perhaps another session). */
  rebind(socket: AppSocket, identity: Identity): void;
}

/**
 * `authenticator` whose failures `explain` may turn into UNAVAILABLE: a session read that
 * fails because PostgreSQL does is an outage to retry, not a bad token (a socket's
 * connect_error) or an INTERNAL error (HTTP).
 */
export function explainedAuthenticator(authenticator: Authenticator, explain: (err: unknown) => unknown): Authenticator {
  return {
    authenticate: (token) =>
      authenticator.authenticate(token).catch((err: unknown) => {
        throw explain(err);
      }),
    isRevoked: authenticator.isRevoked?.bind(authenticator),
  };
}
