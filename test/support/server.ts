import type { Socket } from 'socket.io-client';
import { Redis } from 'ioredis';
import { createApp, type App } from '../../src/app';
import { connect, request, signUp } from '../../src/client';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { openDatabase, type Database } from '../../src/models/database';
import { REDIS_URL, testDatabaseUrl, testRedisPrefix } from './env';

export const JWT_SECRET = 'test-secret-with-enough-entropy-0123456789';
/**
 * Tests drive hundreds of commands per user and sign up hundreds of users from
 * one address: every test server runs with these unless its file sets the real
 * limits (test/e2e/budgets.test.ts).
 */
export const LIFTED_LIMITS = { RATE_LIMIT_PER_USER: '1000000', RATE_LIMIT_PER_IP: '1000000', MAX_SOCKETS_PER_USER: '1000' };
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const PASSWORD = 'correct horse battery staple';
/** 128·N·r = 128 KiB per hash instead of 22 MiB: a signup costs well under a millisecond. */
export const CHEAP_SCRYPT = { SCRYPT_COST: '1024', SCRYPT_BLOCK_SIZE: '1' };

export interface TestServer {
  url: string;
  app: App;
  db: Database;
  config: Config;
  redis?: Redis;
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Use a Redis-backed queue store and fan-out, with a key prefix of this run. */
  redis?: boolean;
  /** Share an existing database handle (e.g. a restart on the same database). */
  db?: Database;
}

/** The real app on port 0, against the run's PostgreSQL database (and Redis when asked). */
export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const config = loadConfig({
    JWT_SECRET,
    ADMIN_TOKEN,
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    WS_ENGINE: process.env['WS_ENGINE'] ?? 'auto',
    REDIS_PREFIX: testRedisPrefix(`app${Math.random().toString(36).slice(2, 8)}`),
    ...LIFTED_LIMITS,
    // Cheap password hashes keep signups fast; test/e2e/accounts.test.ts runs the defaults.
    ...CHEAP_SCRYPT,
    ...options.env,
  });
  const db = options.db ?? (await openDatabase(testDatabaseUrl(), 10));
  const redis = options.redis ? new Redis(REDIS_URL) : undefined;
  const app = createApp({ config, log: createLogger(config.logLevel), db, redis, jwtSecret: JWT_SECRET });
  const port = await app.listen(0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    db,
    config,
    redis,
    async close() {
      await app.close();
      if (redis) await redis.quit();
      if (!options.db) await db.close();
    },
  };
}

/**
 * One server for the enclosing describe block (or file): started before its
 * tests, closed after them. Give each block its own and never nest them: with
 * the uWebSockets.js engine, socket.io's attachApp() patches the shared Adapter
 * prototype so that every room broadcast in the process publishes through the
 * LAST attached app; overlapping servers in one process lose each other's pushes.
 */
export function serverFor(options: StartOptions, assign: (server: TestServer) => void): void {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startServer(options);
    assign(server);
  });
  afterAll(async () => {
    await server?.close();
  });
}

export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** One HTTP call through the typed client's request(); JSON replies parsed. */
export function http<T = Record<string, any>>(
  server: { url: string },
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult<T>> {
  return request<T>(server.url, method, path, options);
}

export interface TestUser {
  id: number;
  name: string;
  /** The access token of the session signup opened. */
  token: string;
  refreshToken: string;
  password: string;
}

let userCounter = 0;
// Names are unique across the run's database (case-insensitively), and files share it.
const fileTag = Math.random().toString(36).slice(2, 8);

/**
 * The users and concerts this test file made through signup() and
 * createConcert(), so its checks can stay off other files' rows (files run in
 * parallel on one database). Jest loads this module once per test file.
 */
const made = { userIds: new Set<number>(), concertIds: new Set<number>() };
export function madeByThisFile(): { userIds: number[]; concertIds: number[] } {
  return { userIds: [...made.userIds], concertIds: [...made.concertIds] };
}

/** A new account with a password (PASSWORD unless given), signed in: the one way tests create users. */
export async function signup(server: { url: string }, name = `user${++userCounter}-${fileTag}`, password = PASSWORD): Promise<TestUser> {
  const session = await signUp(server.url, name, password);
  const user: TestUser = { ...session.user, token: session.token, refreshToken: session.refreshToken, password };
  made.userIds.add(user.id);
  return user;
}

/** A new session of an existing account (POST /sessions); throws unless 200. */
export async function login(server: { url: string }, user: Pick<TestUser, 'name' | 'password'>): Promise<TestUser> {
  const res = await http(server, 'POST', '/sessions', { body: { name: user.name, password: user.password } });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...res.body['user'], token: res.body['token'], refreshToken: res.body['refreshToken'], password: user.password } as TestUser;
}

export interface ConcertFixture {
  id: number;
  sale: Record<string, any>;
  dates: { id: number; startsAt: string; totalSeats: number }[];
}

export async function createConcert(
  server: { url: string },
  options: { dates?: number; seats?: number; price?: number; startsInMs?: number; sale?: Record<string, unknown> } = {},
): Promise<ConcertFixture> {
  const startsIn = options.startsInMs ?? 7 * 86_400_000;
  const res = await http(server, 'POST', '/admin/concerts', {
    token: ADMIN_TOKEN,
    body: {
      title: `Test concert ${++userCounter}`,
      venue: 'Test hall',
      dates: Array.from({ length: options.dates ?? 1 }, (_, i) => ({
        startsAt: new Date(Date.now() + startsIn + i * 86_400_000).toISOString(),
        seats: { count: options.seats ?? 50, price: options.price ?? 1000 },
      })),
      ...(options.sale ? { sale: options.sale } : {}),
    },
  });
  if (res.status !== 201) throw new Error(`create concert failed: ${res.status} ${JSON.stringify(res.body)}`);
  const concert = res.body['concert'] as ConcertFixture;
  made.concertIds.add(concert.id);
  return concert;
}

/** A connected socket.io client over WebSocket only (the typed client's connect()); rejects with the connect_error. */
export function connectClient(server: { url: string }, token?: string): Promise<Socket> {
  return connect(server.url, token);
}

/** Resolves with the next `event` payload matching `predicate`, or rejects after `timeoutMs`. */
export function nextEvent<T = any>(socket: Socket, event: string, predicate: (p: T) => boolean = () => true, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (payload: T) => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(payload);
    };
    socket.on(event, listener);
  });
}

