import { expectStatus, request } from './http';

export interface Session {
  user: { id: number; name: string };
  /** Access token: the `auth.token` of a socket, the bearer of HTTP calls. */
  token: string;
  refreshToken: string;
}

/**
 * POST /users. Without a password the server must run with
 * ALLOW_PASSWORDLESS_SIGNUP=true (load tests); such an account cannot sign in again.
 */
export function signUp(baseUrl: string, name: string, password?: string): Promise<Session> {
  return expectStatus(request(baseUrl, 'POST', '/users', { body: password === undefined ? { name } : { name, password } }), [201], 'POST /users');
}

/** POST /sessions: a new session of an existing account. */
export function signIn(baseUrl: string, name: string, password: string): Promise<Session> {
  return expectStatus(request(baseUrl, 'POST', '/sessions', { body: { name, password } }), [200], 'POST /sessions');
}

/** POST /sessions/refresh: a new pair; the refresh token given is spent. */
export function refresh(baseUrl: string, refreshToken: string): Promise<Pick<Session, 'token' | 'refreshToken'>> {
  return expectStatus(request(baseUrl, 'POST', '/sessions/refresh', { body: { refreshToken } }), [200], 'POST /sessions/refresh');
}
