import { ask, client, closeClients } from '../support/clients';
import { solveChallenge as solve, type QueueChallenge as Challenge } from '../../src/client/solve-challenge';
import { createConcert, http, serverFor, signup, startServer, type TestServer, type TestUser } from '../support/server';
import { sleep } from '../support/wait';

const POW = { QUEUE_CHALLENGE: 'pow', QUEUE_CHALLENGE_COST: '2000', QUEUE_CHALLENGE_TTL_SECONDS: '2' };

async function challengeOf(server: TestServer, user: TestUser, concertId: number): Promise<Challenge> {
  const r = await http(server, 'GET', `/queue/challenge?concertId=${concertId}`, { token: user.token });
  expect(r.status).toBe(200);
  return r.body['challenge'] as Challenge;
}

const join = (server: TestServer, user: TestUser, concertId: number, solution?: string) =>
  http(server, 'POST', '/queue/token', { token: user.token, body: solution === undefined ? { concertId } : { concertId, solution } });

describe('proof of work at the door (QUEUE_CHALLENGE=pow)', () => {
  let server: TestServer;
  serverFor({ env: POW }, (s) => (server = s));
  afterEach(closeClients);

  it('hands out signed ALTCHA challenges over HTTP and sockets', async () => {
    const user = await signup(server);
    const concert = await createConcert(server);
    const c = await challengeOf(server, user, concert.id);
    expect(c).toEqual({ algorithm: 'SHA-256', challenge: expect.stringMatching(/^[0-9a-f]{64}$/), salt: expect.stringContaining('expires='), signature: expect.stringMatching(/^[0-9a-f]{64}$/), maxnumber: 2000 });
    const socket = await client(server, user.token);
    const ack = await ask(socket, 'queue:challenge', { concertId: concert.id });
    expect(ack).toEqual({ ok: true, data: { challenge: expect.objectContaining({ maxnumber: 2000 }) } });
    expect(ack.data.challenge.signature).not.toBe(c.signature);
  });

  it('refuses a missing, wrong, reused or expired solution with CHALLENGE_FAILED and creates nothing; a solved one joins, a rejoin needs none', async () => {
    const concert = await createConcert(server);
    const [alice, bob, carol] = [await signup(server), await signup(server), await signup(server)];
    const c = await challengeOf(server, alice, concert.id);

    const missing = await join(server, alice, concert.id);
    expect(missing.status).toBe(403);
    expect(missing.body['error']).toMatchObject({ code: 'CHALLENGE_FAILED' });
    const socket = await client(server, alice.token);
    expect(await ask(socket, 'queue:join', { concertId: concert.id })).toMatchObject({ ok: false, error: { code: 'CHALLENGE_FAILED' } });
    expect((await join(server, alice, concert.id, solve(c, 1))).body['error']).toMatchObject({ code: 'CHALLENGE_FAILED' });
    expect((await join(server, alice, concert.id, 'bm90IGEgcGF5bG9hZA==')).body['error']).toMatchObject({ code: 'CHALLENGE_FAILED' });

    const solution = solve(c);
    const joined = await join(server, alice, concert.id, solution);
    // 201: the refused attempts before created nothing.
    expect(joined.status).toBe(201);
    const rejoin = await join(server, alice, concert.id);
    expect(rejoin.status).toBe(200);
    expect(rejoin.body['ticket']).toBe(joined.body['ticket']);

    const reused = await join(server, bob, concert.id, solution);
    expect(reused.status).toBe(403);
    expect(reused.body['error']['message']).toContain('already used');

    const late = solve(await challengeOf(server, carol, concert.id));
    await sleep(3100);
    expect((await join(server, carol, concert.id, late)).body['error']).toMatchObject({ code: 'CHALLENGE_FAILED' });
    expect((await join(server, carol, concert.id, solve(await challengeOf(server, carol, concert.id)))).status).toBe(201);
  });
});

describe('no challenge by default', () => {
  let server: TestServer;
  serverFor({}, (s) => (server = s));

  it('answers GET /queue/challenge with 404 and joins without a solution', async () => {
    const user = await signup(server);
    const concert = await createConcert(server);
    const r = await http(server, 'GET', `/queue/challenge?concertId=${concert.id}`, { token: user.token });
    expect(r.status).toBe(404);
    expect((await join(server, user, concert.id)).status).toBe(201);
  });
});

describe('QUEUE_ENTRIES_PER_IP', () => {
  let server: TestServer;
  serverFor({ env: { QUEUE_ENTRIES_PER_IP: '2' } }, (s) => (server = s));

  it('caps live entries of a concert from one address; a rejoin passes, and a slot comes back when an entry ends', async () => {
    const concert = await createConcert(server);
    const other = await createConcert(server);
    const [a, b, c] = [await signup(server), await signup(server), await signup(server)];
    const first = await join(server, a, concert.id);
    expect(first.status).toBe(201);
    expect((await join(server, b, concert.id)).status).toBe(201);
    const third = await join(server, c, concert.id);
    expect(third.status).toBe(429);
    expect(third.body['error']).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterMs: expect.any(Number) } });
    expect(third.headers.get('retry-after')).toBe('60');
    expect((await join(server, a, concert.id)).status).toBe(200);
    expect((await join(server, c, other.id)).status).toBe(201);

    const left = await http(server, 'POST', '/queue/leave', { token: a.token, headers: { 'queue-token': first.body['token'] } });
    expect(left.status).toBe(200);
    expect((await join(server, c, concert.id)).status).toBe(201);
  });
});

describe('a solution is spent once across instances (Redis)', () => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    const prefix = `door${Date.now()}:`;
    a = await startServer({ redis: true, env: { ...POW, REDIS_PREFIX: prefix } });
    b = await startServer({ redis: true, env: { ...POW, REDIS_PREFIX: prefix } });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('refuses on one instance a solution spent on another', async () => {
    const concert = await createConcert(a);
    const [alice, bob] = [await signup(a), await signup(a)];
    const solution = solve(await challengeOf(b, alice, concert.id));
    expect((await join(a, alice, concert.id, solution)).status).toBe(201);
    expect((await join(b, bob, concert.id, solution)).body['error']).toMatchObject({ code: 'CHALLENGE_FAILED' });
  });
});
