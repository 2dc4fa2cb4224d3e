import jwt from 'jsonwebtoken';
import { ADMIN_TOKEN, JWT_SECRET, connectClient, createConcert, http, signup, startServer, type TestServer } from '../support/server';
import { badUserTokens } from '../support/tokens';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

describe('signup and user tokens', () => {
  it('creates a user and returns a token that authenticates both transports', async () => {
    const res = await http(server, 'POST', '/users', { body: { name: `Ada-${Date.now()}`, password: 'a long enough password' } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ user: { id: expect.any(Number), name: expect.stringMatching(/^Ada-/) }, token: expect.any(String), refreshToken: expect.any(String) });
    const wallet = await http(server, 'GET', '/wallets/me', { token: res.body['token'] });
    expect(wallet.status).toBe(200);
    const socket = await connectClient(server, res.body['token']);
    expect(socket.connected).toBe(true);
    socket.close();
  });

  it.each([
    ['missing name', {}],
    ['empty name', { name: '' }],
    ['blank name', { name: '   ' }],
    ['number name', { name: 5 }],
    ['extra property', { name: 'x', admin: true }],
  ])('refuses signup with %s', async (_label, body) => {
    const res = await http(server, 'POST', '/users', { body });
    expect(res.status).toBe(400);
    expect(res.body['error']).toMatchObject({ code: 'VALIDATION_FAILED', details: { errors: expect.any(Array) } });
  });

  it('refuses each flawed token (otherwise naming a live session) over HTTP with 401 and on the handshake with UNAUTHORIZED', async () => {
    const user = await signup(server);
    for (const [label, token] of badUserTokens(user)) {
      const res = await http(server, 'GET', '/wallets/me', { token });
      expect({ label, status: res.status, body: res.body }).toEqual({ label, status: 401, body: { error: { code: 'UNAUTHORIZED', message: expect.any(String) } } });
      await expect(connectClient(server, token)).rejects.toThrow('UNAUTHORIZED');
    }
  });

  it('refuses a queue-shaped token used as a user token', async () => {
    const token = jwt.sign({ typ: 'queue', cid: 1, tkt: 1 }, JWT_SECRET, { subject: '1', algorithm: 'HS256' });
    expect((await http(server, 'GET', '/wallets/me', { token })).status).toBe(401);
  });
});

describe('catalog', () => {
  it('lists a new concert and its future dates over HTTP and the socket alike', async () => {
    const concert = await createConcert(server, { dates: 2, seats: 30 });
    const user = await signup(server);
    const list = await http<{ concerts: any[] }>(server, 'GET', '/concerts', { token: user.token });
    expect(list.status).toBe(200);
    const entry = list.body.concerts.find((c) => c.id === concert.id);
    expect(entry).toEqual({
      id: concert.id,
      title: expect.any(String),
      venue: 'Test hall',
      nextDateAt: concert.dates[0]?.startsAt,
      availableDates: 2,
      opensAt: expect.any(String),
      minPrice: 1000,
      maxPrice: 1000,
    });
    const dates = await http(server, 'GET', `/concerts/${concert.id}/dates`, { token: user.token });
    expect(dates.body).toEqual({
      dates: concert.dates.map((d) => ({ id: d.id, startsAt: d.startsAt, totalSeats: 30, freeSeats: 30, heldSeats: 0 })),
    });

    const socket = await connectClient(server, user.token);
    try {
      expect(await socket.emitWithAck('concerts:list', {})).toEqual({ ok: true, data: list.body });
      expect(await socket.emitWithAck('concert:dates', { concertId: concert.id })).toEqual({ ok: true, data: dates.body });
      expect(await socket.emitWithAck('concert:dates', { concertId: 99_999_999 })).toEqual({
        ok: false,
        error: { code: 'NOT_FOUND', message: expect.any(String) },
      });
    } finally {
      socket.close();
    }
  });

  it('hides past dates and concerts that only have past dates', async () => {
    const past = await createConcert(server, { startsInMs: -86_400_000 });
    const user = await signup(server);
    const list = await http<{ concerts: { id: number }[] }>(server, 'GET', '/concerts', { token: user.token });
    expect(list.body.concerts.map((c) => c.id)).not.toContain(past.id);
    expect((await http(server, 'GET', `/concerts/${past.id}/dates`, { token: user.token })).body).toEqual({ dates: [] });
  });

  it('answers 404 for an unknown concert and 400 for a malformed id', async () => {
    const user = await signup(server);
    expect((await http(server, 'GET', '/concerts/987654321/dates', { token: user.token })).status).toBe(404);
    const bad = await http(server, 'GET', '/concerts/abc/dates', { token: user.token });
    expect(bad.status).toBe(400);
    expect(bad.body['error'].code).toBe('VALIDATION_FAILED');
  });
});

describe('admin API', () => {
  const body = { title: 'Admin show', venue: 'Hall', dates: [{ startsAt: '2030-01-01T19:00:00Z', seats: { count: 5, price: 7000, grade: 'VIP' } }] };

  it('creates a concert with numbered seats', async () => {
    const res = await http(server, 'POST', '/admin/concerts', { token: ADMIN_TOKEN, body });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      concert: {
        id: expect.any(Number),
        title: 'Admin show',
        venue: 'Hall',
        sale: expect.objectContaining({ paused: false, challenge: 'off' }),
        dates: [{ id: expect.any(Number), startsAt: '2030-01-01T19:00:00.000Z', totalSeats: 5 }],
      },
    });
    const seats = await server.db.sequelize.query(`SELECT number, grade, price FROM seats WHERE date_id = ${res.body['concert'].dates[0].id} ORDER BY number`);
    expect(seats[0]).toEqual([1, 2, 3, 4, 5].map((number) => ({ number, grade: 'VIP', price: 7000 })));
  });

  it('refuses a wrong or missing admin token, and user tokens', async () => {
    const user = await signup(server);
    for (const token of [undefined, 'wrong', user.token]) {
      const res = await http(server, 'POST', '/admin/concerts', { token, body });
      expect(res.status).toBe(401);
      expect(res.body['error'].code).toBe('UNAUTHORIZED');
    }
  });

  it('is off when ADMIN_TOKEN is unset', async () => {
    const noAdmin = await startServer({ env: { ADMIN_TOKEN: '' } });
    try {
      const res = await http(noAdmin, 'POST', '/admin/concerts', { token: ADMIN_TOKEN, body });
      expect(res.status).toBe(404);
    } finally {
      await noAdmin.close();
    }
  });

  it('validates the concert', async () => {
    const res = await http(server, 'POST', '/admin/concerts', {
      token: ADMIN_TOKEN,
      body: { title: 'x', venue: 'y', dates: [{ startsAt: 'tomorrow', seats: { count: 0, price: -1 } }] },
    });
    expect(res.status).toBe(400);
    const paths = (res.body['error'].details.errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(['/dates/0/seats/count', '/dates/0/seats/price', '/dates/0/startsAt']);
  });
});

describe('health and metrics', () => {
  it('reports ok when the database answers', async () => {
    expect(await http(server, 'GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('exposes Prometheus metrics with command counts', async () => {
    const user = await signup(server);
    await http(server, 'GET', '/concerts', { token: user.token });
    const res = await http<string>(server, 'GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    expect(res.body).toMatch(/tix_command_duration_seconds_count\{command="concerts:list",outcome="ok"\} \d+/);
    expect(res.body).toMatch(/process_resident_memory_bytes/);
    expect(res.body).toMatch(/tix_connected_sockets/);
    // signup and concerts:list each waited for a main-pool connection.
    const waits = Number(/tix_db_pool_wait_seconds_count\{pool="main"\} (\d+)/.exec(res.body)?.[1] ?? 0);
    expect(waits).toBeGreaterThanOrEqual(2);
  });
});

describe('bad input never crashes anything', () => {
  it('answers malformed JSON with 400 VALIDATION_FAILED', async () => {
    const res = await http(server, 'POST', '/users', { raw: '{"name": ', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body['error'].code).toBe('VALIDATION_FAILED');
  });

  it('answers a non-object JSON body with 400', async () => {
    expect((await http(server, 'POST', '/users', { raw: '[1,2]', headers: { 'content-type': 'application/json' } })).status).toBe(400);
  });

  it('answers an oversized body with 413 and no stack trace', async () => {
    const res = await http(server, 'POST', '/users', { raw: JSON.stringify({ name: 'x'.repeat(70 * 1024) }) });
    expect(res.status).toBe(413);
    expect(res.body['error'].code).toBe('VALIDATION_FAILED');
  });

  it('answers an unknown route with 404 in the error shape', async () => {
    const res = await http(server, 'GET', '/no/such/route');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
  });

  it('acks wrong types, extra properties, non-object payloads and unknown events, and survives a missing ack', async () => {
    const user = await signup(server);
    const socket = await connectClient(server, user.token);
    try {
      const wrongType = await socket.emitWithAck('concert:dates', { concertId: 'one' });
      expect(wrongType).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', details: { errors: [{ path: '/concertId' }] } } });
      const extra = await socket.emitWithAck('concerts:list', { extra: 1 });
      expect(extra).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
      for (const payload of [null, 'text', 42, [1]]) {
        expect(await socket.emitWithAck('concert:dates', payload)).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
      }
      const unknown = await socket.emitWithAck('no:such:event', {});
      expect(unknown).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
      socket.emit('concerts:list', {}); // no ack callback
      socket.emit('no:such:event'); // no ack, no payload
      expect(await socket.emitWithAck('concerts:list')).toMatchObject({ ok: true });
    } finally {
      socket.close();
    }
    expect((await http(server, 'GET', '/health')).status).toBe(200);
  });

});
