import jwt from 'jsonwebtoken';
import { Tokens } from '../../src/tokens';
import { VerifiedTokens } from '../../src/verified-tokens';

const SECRET = 'unit-secret-0123456789-0123456789-abcdef';
const refused = (f: () => unknown) => expect(f).toThrow(expect.objectContaining({ code: 'QUEUE_TOKEN_INVALID' }));

describe('queue tokens, verified once and then remembered', () => {
  afterEach(() => jest.useRealTimers());

  it('a remembered token still answers only its own user, with the same claims every time', () => {
    const tokens = new Tokens(SECRET, 900);
    const token = tokens.signQueue({ userId: 7, concertId: 3, ticket: 42 });
    expect(tokens.verifyQueue(token, 7)).toEqual({ userId: 7, concertId: 3, ticket: 42 });
    expect(tokens.verifyQueue(token, 7)).toEqual({ userId: 7, concertId: 3, ticket: 42 });
    refused(() => tokens.verifyQueue(token, 8));
  });

  it('a remembered token is refused once its own expiry passes', () => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    const tokens = new Tokens(SECRET, 900);
    const token = tokens.signQueue({ userId: 7, concertId: 3, ticket: 1 });
    expect(tokens.verifyQueue(token, 7).ticket).toBe(1);
    jest.setSystemTime(new Date('2026-01-01T23:59:59Z'));
    expect(tokens.verifyQueue(token, 7).ticket).toBe(1);
    jest.setSystemTime(new Date('2026-01-02T00:00:00Z'));
    refused(() => tokens.verifyQueue(token, 7));
  });

  it('an altered copy of a remembered token, or one signed with another secret, is refused', () => {
    const tokens = new Tokens(SECRET, 900);
    const token = tokens.signQueue({ userId: 7, concertId: 3, ticket: 1 });
    tokens.verifyQueue(token, 7);
    const [header, , signature] = token.split('.');
    const payload = Buffer.from(JSON.stringify({ typ: 'queue', sub: '7', cid: 3, tkt: 0, exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
    refused(() => tokens.verifyQueue(`${header}.${payload}.${signature}`, 7));
    const foreign = jwt.sign({ typ: 'queue', sub: '7', cid: 3, tkt: 1 }, 'another-secret-0123456789-0123456789', { algorithm: 'HS256', expiresIn: '1h' });
    refused(() => tokens.verifyQueue(foreign, 7));
    refused(() => tokens.verifyQueue(tokens.signAccess({ userId: 7, sessionId: 's1' }), 7));
  });

  it('keeps at most its bound, forgetting the oldest first', () => {
    const cache = new VerifiedTokens<number>(2);
    const exp = Math.floor(Date.now() / 1000) + 60;
    cache.set('a', 1, exp);
    cache.set('b', 2, exp);
    cache.set('c', 3, exp);
    expect(cache.size).toBe(2);
    expect([cache.get('a', Date.now()), cache.get('b', Date.now()), cache.get('c', Date.now())]).toEqual([undefined, 2, 3]);
  });
});

describe('access tokens, verified once and then remembered', () => {
  afterEach(() => jest.useRealTimers());
  const unauthorized = (f: () => unknown) => expect(f).toThrow(expect.objectContaining({ code: 'UNAUTHORIZED' }));

  it('answers a remembered token with the same claims, and refuses it once its own expiry passes', () => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    const tokens = new Tokens(SECRET, 900);
    const token = tokens.signAccess({ userId: 7, sessionId: 's1' });
    expect(tokens.verifyAccess(token)).toEqual({ userId: 7, sessionId: 's1' });
    jest.setSystemTime(new Date('2026-01-01T00:14:59Z'));
    expect(tokens.verifyAccess(token)).toEqual({ userId: 7, sessionId: 's1' });
    jest.setSystemTime(new Date('2026-01-01T00:15:00Z'));
    unauthorized(() => tokens.verifyAccess(token));
  });

  it('refuses an altered copy of a remembered token, a foreign signature and a queue token', () => {
    const tokens = new Tokens(SECRET, 900);
    const token = tokens.signAccess({ userId: 7, sessionId: 's1' });
    tokens.verifyAccess(token);
    const [header, , signature] = token.split('.');
    const payload = Buffer.from(JSON.stringify({ typ: 'user', sid: 's1', sub: '8', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
    unauthorized(() => tokens.verifyAccess(`${header}.${payload}.${signature}`));
    unauthorized(() => tokens.verifyAccess(jwt.sign({ typ: 'user', sid: 's1' }, 'another-secret-0123456789-0123456789', { algorithm: 'HS256', subject: '7', expiresIn: '1h' })));
    unauthorized(() => tokens.verifyAccess(tokens.signQueue({ userId: 7, concertId: 3, ticket: 1 })));
  });
});
