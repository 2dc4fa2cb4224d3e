import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { JWT_SECRET } from './server';

/** An identity provider's key pair (RS256), made once per test file. */
export const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();

const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

/**
 * Tokens a server configured with JWT_SECRET (HS256) must refuse as user
 * tokens, each naming `userId` so that the flaw is the only reason; with
 * `queueToken`, also a queue token offered as a user token.
 */
export function badUserTokens(userId: number, queueToken?: string): [label: string, token: string | undefined][] {
  const sub = String(userId);
  return [
    ['missing', undefined],
    ['malformed', 'not-a-jwt'],
    ['forged (wrong secret)', jwt.sign({ typ: 'user' }, 'another-secret-entirely-0123456789', { subject: sub, algorithm: 'HS256' })],
    ['expired', jwt.sign({ typ: 'user', exp: Math.floor(Date.now() / 1000) - 60 }, JWT_SECRET, { subject: sub, algorithm: 'HS256' })],
    ['alg none', `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub, typ: 'user' })}.`],
    ['wrong algorithm (HS512)', jwt.sign({ typ: 'user' }, JWT_SECRET, { subject: sub, algorithm: 'HS512' })],
    ['RS256 when HS256 is configured', jwt.sign({ typ: 'user' }, rsa.privateKey, { subject: sub, algorithm: 'RS256' })],
    ...(queueToken ? ([['a queue token', queueToken]] as [string, string][]) : []),
  ];
}
