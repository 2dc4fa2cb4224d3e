import { http, sleep, type TestUser } from './server';

/** Settings that admit everyone almost at once, for tests about seats and payments rather than the queue. */
export const FAST_QUEUE = {
  QUEUE_ADMIT_INTERVAL_MS: '50',
  QUEUE_ADMIT_BATCH: '1000',
  QUEUE_MAX_ACTIVE: '100000',
};

/** Joins the concert's waiting room over HTTP and waits until ACTIVE; returns the queue token. */
export async function activeToken(server: { url: string }, user: TestUser, concertId: number, timeoutMs = 15_000): Promise<string> {
  const joined = await http(server, 'POST', '/queue/token', { token: user.token, body: { concertId } });
  if (joined.status !== 201 && joined.status !== 200) throw new Error(`queue join failed: ${joined.status} ${JSON.stringify(joined.body)}`);
  const queueToken = joined.body['token'] as string;
  const deadline = Date.now() + timeoutMs;
  let status = joined.body['status'];
  while (status !== 'ACTIVE') {
    if (Date.now() > deadline) throw new Error(`not admitted within ${timeoutMs} ms (status ${String(status)})`);
    await sleep(25);
    const res = await http(server, 'GET', '/queue/status', { token: user.token, headers: { 'queue-token': queueToken } });
    status = res.body['status'];
  }
  return queueToken;
}
