import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { Client } from 'pg';
import { JWT_SECRET } from './server';

/** An identity provider's key pair (RS256), made once per test file. */
export const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();

const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** The session id (`sid`) of one of our access tokens. */
export const sessionOf = (token: string): string => (jwt.decode(token) as jwt.JwtPayload)['sid'] as string;

/**
 * Tokens a server configured with JWT_SECRET (HS256) must refuse as user
 * tokens, each naming the user and live session of `token` so that the flaw is
 * the only reason; with `queueToken`, also a queue token offered as a user token.
 */
export function badUserTokens(user: { id: number; token: string }, queueToken?: string): [label: string, token: string | undefined][] {
  const sub = String(user.id);
  const sid = sessionOf(user.token);
  const claims = { typ: 'user', sid };
  const hour = Math.floor(Date.now() / 1000) + 3600;
  return [
    ['missing', undefined],
    ['malformed', 'not-a-jwt'],
    ['forged (wrong secret)', jwt.sign(claims, 'another-secret-entirely-0123456789', { subject: sub, algorithm: 'HS256', expiresIn: 600 })],
    ['expired', jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }, JWT_SECRET, { subject: sub, algorithm: 'HS256' })],
    ['without exp', jwt.sign(claims, JWT_SECRET, { subject: sub, algorithm: 'HS256' })],
    ['without sid', jwt.sign({ typ: 'user' }, JWT_SECRET, { subject: sub, algorithm: 'HS256', expiresIn: 600 })],
    ['of an unknown session', jwt.sign({ ...claims, sid: '00000000-0000-4000-8000-000000000000' }, JWT_SECRET, { subject: sub, algorithm: 'HS256', expiresIn: 600 })],
    ['alg none', `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub, ...claims, exp: hour })}.`],
    ['wrong algorithm (HS512)', jwt.sign(claims, JWT_SECRET, { subject: sub, algorithm: 'HS512', expiresIn: 600 })],
    ['RS256 when HS256 is configured', jwt.sign(claims, rsa.privateKey, { subject: sub, algorithm: 'RS256', expiresIn: 600 })],
    ...(queueToken ? ([['a queue token', queueToken]] as [string, string][]) : []),
  ];
}

/**
 * A live session per user written straight into the database at `databaseUrl` (one connection,
 * one statement), and an access token for each: no instance opened them, so the first handshake or
 * request that presents one must read it (an instance trusts the sessions it opened from memory).
 */
export async function sessionsNoInstanceOpened(databaseUrl: string, userIds: number[], expiresIn = '1 day'): Promise<string[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; user_id: number }>(
      `INSERT INTO sessions (id, user_id, refresh_hash, expires_at)
       SELECT gen_random_uuid(), u, '\\x00', now() + $2::interval FROM unnest($1::int[]) WITH ORDINALITY AS t(u, n) ORDER BY n
       RETURNING id, user_id`,
      [userIds, expiresIn],
    );
    // RETURNING keeps no order: match each row to its user.
    const byUser = new Map(rows.map((r) => [r.user_id, r.id]));
    return userIds.map((u) => jwt.sign({ typ: 'user', sid: byUser.get(u) }, JWT_SECRET, { subject: String(u), algorithm: 'HS256', expiresIn: 900 }));
  } finally {
    await client.end();
  }
}

export const sessionNoInstanceOpened = async (databaseUrl: string, userId: number, expiresIn?: string): Promise<string> =>
  (await sessionsNoInstanceOpened(databaseUrl, [userId], expiresIn))[0] as string;
