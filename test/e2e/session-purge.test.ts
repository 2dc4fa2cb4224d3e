/**
 * Dead session rows do not pile up: with SESSION_PURGE_INTERVAL_SECONDS=1 the
 * server deletes sessions expired or revoked more than SESSION_PURGE_AFTER_HOURS
 * (default 24) ago, with their spent refresh hashes, in batches of
 * SESSION_PURGE_BATCH; live sessions and recently dead ones stay.
 *
 * Other test files share the database: the rows purged here are backdated by
 * more than a day, which no other file does, so the purge never takes theirs.
 */
import { QueryTypes } from 'sequelize';
import { http, serverFor, signup, type TestServer, type TestUser } from '../support/server';
import { sessionRow } from '../support/db';
import { testDatabaseUrl } from '../support/env';
import { sessionNoInstanceOpened, sessionOf } from '../support/tokens';
import { waitFor } from '../support/wait';

describe('the session purge', () => {
  let server: TestServer;
  // A batch of 2 with 4 old rows: one run needs several statements.
  serverFor({ env: { SESSION_PURGE_INTERVAL_SECONDS: '1', SESSION_PURGE_BATCH: '2' } }, (s) => (server = s));

  const backdate = (user: TestUser, column: 'expires_at' | 'revoked_at', hours: number) =>
    server.db.sequelize.query(`UPDATE sessions SET ${column} = now() - make_interval(hours => $2) WHERE id = $1`, { bind: [sessionOf(user.token), hours] });

  const spentOf = async (sessionId: string) =>
    (await server.db.sequelize.query<{ n: number }>('SELECT count(*)::int AS n FROM spent_refresh_tokens WHERE session_id = $1', { bind: [sessionId], type: QueryTypes.SELECT }))[0]?.n;

  it('deletes sessions expired or revoked more than a day ago, with their spent refresh tokens; live and recently dead sessions stay', async () => {
    const live = await signup(server);
    const [revokedNow, revokedLongAgo, expiredLongAgo, expiredAnHourAgo, signedUp, oldB] = await Promise.all(Array.from({ length: 6 }, () => signup(server)));
    // oldA's tokens are used after the purge: a session this instance did not open, which it must read
    // (it trusts the ones it opened from memory for 30 s, as it does any live session it has read).
    const oldA = { ...signedUp!, token: await sessionNoInstanceOpened(testDatabaseUrl(), signedUp!.id) };
    for (const user of [revokedNow, revokedLongAgo]) expect((await http(server, 'POST', '/sessions/logout', { token: user!.token })).status).toBe(200);
    // A spent refresh hash on a session that will be purged: it must go with its session.
    expect((await http(server, 'POST', '/sessions/refresh', { body: { refreshToken: expiredLongAgo!.refreshToken } })).status).toBe(200);
    expect(await spentOf(sessionOf(expiredLongAgo!.token))).toBe(1);
    await backdate(revokedLongAgo!, 'revoked_at', 25);
    for (const user of [expiredLongAgo!, oldA, oldB!]) await backdate(user, 'expires_at', 25);
    await backdate(expiredAnHourAgo!, 'expires_at', 1);

    const purged = [revokedLongAgo!, expiredLongAgo!, oldA, oldB!].map((u) => sessionOf(u.token));
    await waitFor(async () => (await Promise.all(purged.map((id) => sessionRow(server.db, id)))).every((row) => row === undefined), 'the old sessions to be purged', 10_000);
    expect(await spentOf(sessionOf(expiredLongAgo!.token))).toBe(0);

    expect(await sessionRow(server.db, sessionOf(live.token))).toEqual({ userId: live.id, revoked: false, spent: 0 });
    expect(await sessionRow(server.db, sessionOf(revokedNow!.token))).toMatchObject({ revoked: true });
    expect(await sessionRow(server.db, sessionOf(expiredAnHourAgo!.token))).toMatchObject({ revoked: false });
    expect((await http(server, 'GET', '/wallets/me', { token: live.token })).status).toBe(200);
    // A purged session refuses its tokens exactly as a revoked one does.
    expect((await http(server, 'GET', '/wallets/me', { token: oldA.token })).body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
    expect((await http(server, 'POST', '/sessions/refresh', { body: { refreshToken: oldB!.refreshToken } })).status).toBe(401);
  });
});
