import { AckTimeout, LineError, TicketClient, commandNames, connect, signIn, signUp } from '../../src/client';
import { createConcert, PASSWORD, serverFor, type TestServer } from '../support/server';
import { FAST_QUEUE } from '../support/queue';

let server: TestServer;
serverFor({ env: { ...FAST_QUEUE, QUEUE_ADMIT_INTERVAL_MS: '100', QUEUE_ADMIT_BATCH: '1' } }, (s) => (server = s));

const opened: TicketClient[] = [];
afterEach(() => {
  while (opened.length) opened.pop()?.close();
});

async function signedIn(name: string): Promise<TicketClient> {
  const session = await signUp(server.url, `${name}-${Math.random().toString(36).slice(2, 8)}`, PASSWORD);
  const client = await TicketClient.connect(server.url, session.token);
  opened.push(client);
  return client;
}

describe('the typed client (src/client)', () => {
  it('names exactly the socket commands the server mounts', () => {
    const mounted = [...server.app.commands.values()].filter((c) => !c.httpOnly).map((c) => c.name);
    expect([...commandNames].sort()).toEqual(mounted.sort());
  });

  it('signs up, signs in, joins the line, is admitted, holds and pays', async () => {
    const concert = await createConcert(server, { price: 1500 });
    const dateId = concert.dates[0]!.id;
    const name = `client-${Math.random().toString(36).slice(2, 8)}`;
    await signUp(server.url, name, PASSWORD);
    const session = await signIn(server.url, name, PASSWORD);
    expect(session).toEqual({ user: { id: expect.any(Number), name }, token: expect.any(String), refreshToken: expect.any(String) });
    const client = await TicketClient.connect(server.url, session.token);
    opened.push(client);

    const line = await client.joinLine(concert.id);
    expect(line.queueToken).toEqual(expect.any(String));
    const expiresAt = await line.whenActive(20_000);
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
    expect(line.position).toBe(0);

    const held = await client.hold(line.queueToken, dateId, [3, 4]);
    if (!held.ok) throw new Error(held.error.code);
    expect(held.data).toMatchObject({ dateId, status: 'HELD', total: 3000, seats: [{ number: 3, price: 1500 }, { number: 4, price: 1500 }] });
    expect(await client.charge(5000, 'charge-1')).toEqual({ ok: true, data: { balance: 5000 } });
    const paid = await client.pay(line.queueToken, held.data.id, 'pay-1');
    if (!paid.ok) throw new Error(paid.error.code);
    expect(paid.data).toMatchObject({ balance: 2000, payment: { amount: 3000 }, reservation: { id: held.data.id, status: 'CONFIRMED' } });
    line.close();
  });

  it('keeps each waiter\'s exact position with the shipped function when one ahead leaves', async () => {
    const concert = await createConcert(server, { sale: { paused: true } });
    const clients = await Promise.all([0, 1, 2].map((i) => signedIn(`line${i}`)));
    const lines = [];
    for (const c of clients) lines.push(await c.joinLine(concert.id));
    expect(lines.map((l) => l.position)).toEqual([1, 2, 3]);
    // The first leaves: everyone behind moves up at the next tick.
    expect(await lines[0]!.leave()).toEqual({ ok: true, data: {} });
    await expect(lines[0]!.whenActive(1000)).rejects.toEqual(new LineError('EXPIRED_LEFT', 'the entry ended before admission: LEFT'));
    const deadline = Date.now() + 10_000;
    while (lines[2]!.position !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(lines.slice(1).map((l) => l.position)).toEqual([1, 2]);
    for (const l of lines.slice(1)) expect((await l.resync()).ok).toBe(true);
    expect(lines.slice(1).map((l) => l.position)).toEqual([1, 2]);
  });

  it('refuses a bad token at connect with the server\'s reason, and a join of an unknown concert with its code', async () => {
    await expect(connect(server.url, 'not-a-token')).rejects.toThrow('UNAUTHORIZED');
    const client = await signedIn('unknown');
    await expect(client.joinLine(2 ** 40)).rejects.toMatchObject({ name: 'LineError', code: 'NOT_FOUND' });
  });

  it('answers a missing ack with AckTimeout', async () => {
    const client = await signedIn('timeout');
    client.socket.disconnect();
    await expect(new TicketClient(client.socket, 200).send('wallet:get', {})).rejects.toBeInstanceOf(AckTimeout);
  });
});
