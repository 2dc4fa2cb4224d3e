/**
 * Environment parsed and validated once, at start. A bad value stops the
 * process with a message naming the variable, instead of surfacing later as
 * odd behaviour under load.
 */
export interface Config {
  port: number;
  host: string;
  databaseUrl?: string;
  redisUrl?: string;
  /** Prefix for every Redis key and pub/sub channel, so runs and deployments can share one Redis. */
  redisPrefix: string;
  dataDir: string;
  embeddedPgPort: number;
  jwtSecret?: string;
  /** External identity provider: its JWKS, or one PEM public key; issuer and audience then required. */
  jwtJwksUrl?: string;
  jwtPublicKey?: string;
  jwtIssuer?: string;
  jwtAudience?: string;
  allowSignup: boolean;
  /** `POST /users {name}` without a password (demos, load tests); such an account never logs in. */
  allowPasswordlessSignup: boolean;
  accessTokenTtlSeconds: number;
  /** A session's refresh lifetime, counted from its last refresh. */
  sessionTtlDays: number;
  /** How often expired and revoked session rows are deleted; 0: never. */
  sessionPurgeIntervalSeconds: number;
  /** An expired or revoked session row is kept this long before the purge deletes it. */
  sessionPurgeAfterHours: number;
  /** Rows one purge statement deletes at most: each statement's locks and WAL stay small. */
  sessionPurgeBatch: number;
  /** scrypt N and r for new password hashes (a hash keeps its own parameters). */
  scryptCost: number;
  scryptBlockSize: number;
  adminToken?: string;
  /** Bearer token for /metrics; unset: /metrics is open. */
  metricsToken?: string;
  holdTtlSeconds: number;
  maxSeatsPerUser: number;
  queueAdmitIntervalMs: number;
  queueAdmitBatch: number;
  queueMaxActive: number;
  queueActiveTtlSeconds: number;
  queueIdleTimeoutSeconds: number;
  queueMaxWaiting: number;
  /** Without Redis: drawn entries whose rows move to their tickets per write after an opening's draw. */
  queueDrawMoveBatch: number;
  /** Default of a concert's sale `challenge`. */
  queueChallenge: 'off' | 'pow';
  walletMaxCharge: number;
  walletMaxBalance: number;
  seedDemo?: boolean;
  wsEngine: 'uws' | 'node' | 'auto';
  logLevel: string;
  /** Commands per second per user, across HTTP and every socket of the user (bursts of twice that). */
  rateLimitPerUser: number;
  /** Requests per minute per client IP on routes without a user (signup, login, refresh). */
  rateLimitPerIp: number;
  /** A user's sockets; past it the oldest is closed. */
  maxSocketsPerUser: number;
  /** Proxies (addresses, CIDRs; comma-separated) whose X-Forwarded-For is believed. */
  trustProxy?: string;
  /** Most live queue entries of one concert from one client IP; 0: no cap. */
  queueEntriesPerIp: number;
  /** Proof-of-work maxnumber: the expected work of a solve. */
  queueChallengeCost: number;
  /** How long a challenge may be solved and spent. */
  queueChallengeTtlSeconds: number;
  /** A date room with no command and no watcher for this long is disposed. */
  roomIdleMs: number;
  /** Most commands a date room commits in one transaction; 1 turns group commit off (benchmarks). */
  dateRoomMaxBatch: number;
  /** With Redis: how long a date room's owner lease lasts without renewal (takeover time after a crash). */
  dateLeaseMs: number;
  /** Names this instance in leases and RPC channels; random when unset. */
  instanceId?: string;
  /** On SIGTERM: how long commands already received may take to finish before the instance closes anyway. */
  shutdownGraceMs: number;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean | undefined): boolean | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(true|1|yes|on)$/i.test(raw)) return true;
  if (/^(false|0|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function str(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

/** HS256 keys shorter than the hash are guessable offline from one token. */
export const MIN_JWT_SECRET_BYTES = 32;
export const MIN_ADMIN_TOKEN_CHARS = 24;

/** A secret too short to resist guessing stops the start rather than protecting nothing. */
function secret(env: Env, name: string, min: number, unit: string, size: (s: string) => number): string | undefined {
  const value = str(env, name);
  if (value !== undefined && size(value) < min) throw new ConfigError(`${name} must be at least ${min} ${unit}, got ${size(value)}`);
  return value;
}

function challenge(env: Env): 'off' | 'pow' {
  const raw = str(env, 'QUEUE_CHALLENGE') ?? 'off';
  if (raw !== 'off' && raw !== 'pow') throw new ConfigError(`QUEUE_CHALLENGE must be off or pow, got "${raw}"`);
  return raw;
}

export function loadConfig(env: Env = process.env): Config {
  const wsEngine = str(env, 'WS_ENGINE') ?? 'auto';
  if (wsEngine !== 'uws' && wsEngine !== 'node' && wsEngine !== 'auto') {
    throw new ConfigError(`WS_ENGINE must be uws, node or auto, got "${wsEngine}"`);
  }
  return {
    port: int(env, 'PORT', 3000, 0, 65535),
    host: str(env, 'HOST') ?? '0.0.0.0',
    databaseUrl: str(env, 'DATABASE_URL'),
    redisUrl: str(env, 'REDIS_URL'),
    redisPrefix: str(env, 'REDIS_PREFIX') ?? 'tix:',
    dataDir: str(env, 'DATA_DIR') ?? 'data',
    embeddedPgPort: int(env, 'EMBEDDED_PG_PORT', 54329, 1, 65535),
    jwtSecret: secret(env, 'JWT_SECRET', MIN_JWT_SECRET_BYTES, 'bytes', (s) => Buffer.byteLength(s)),
    ...identityProvider(env),
    allowSignup: bool(env, 'ALLOW_SIGNUP', true) ?? true,
    allowPasswordlessSignup: bool(env, 'ALLOW_PASSWORDLESS_SIGNUP', false) ?? false,
    accessTokenTtlSeconds: int(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 1, 86_400),
    sessionTtlDays: int(env, 'SESSION_TTL_DAYS', 30, 1, 3650),
    sessionPurgeIntervalSeconds: int(env, 'SESSION_PURGE_INTERVAL_SECONDS', 3600, 0, 604_800),
    sessionPurgeAfterHours: int(env, 'SESSION_PURGE_AFTER_HOURS', 24, 0, 87_600),
    sessionPurgeBatch: int(env, 'SESSION_PURGE_BATCH', 1000, 1, 100_000),
    scryptCost: powerOfTwo(env, 'SCRYPT_COST', 16_384),
    scryptBlockSize: int(env, 'SCRYPT_BLOCK_SIZE', 11, 1, 64),
    adminToken: secret(env, 'ADMIN_TOKEN', MIN_ADMIN_TOKEN_CHARS, 'characters', (s) => [...s].length),
    metricsToken: str(env, 'METRICS_TOKEN'),
    holdTtlSeconds: int(env, 'HOLD_TTL_SECONDS', 300, 1),
    maxSeatsPerUser: int(env, 'MAX_SEATS_PER_USER', 4, 1, 1000),
    queueAdmitIntervalMs: int(env, 'QUEUE_ADMIT_INTERVAL_MS', 1000, 10),
    queueAdmitBatch: int(env, 'QUEUE_ADMIT_BATCH', 50, 1),
    queueMaxActive: int(env, 'QUEUE_MAX_ACTIVE', 200, 1),
    queueActiveTtlSeconds: int(env, 'QUEUE_ACTIVE_TTL_SECONDS', 600, 1),
    queueIdleTimeoutSeconds: int(env, 'QUEUE_IDLE_TIMEOUT_SECONDS', 120, 1),
    queueMaxWaiting: int(env, 'QUEUE_MAX_WAITING', 100_000, 1),
    queueDrawMoveBatch: int(env, 'QUEUE_DRAW_MOVE_BATCH', 500, 1, 100_000),
    queueChallenge: challenge(env),
    walletMaxCharge: int(env, 'WALLET_MAX_CHARGE', 1_000_000, 1),
    walletMaxBalance: int(env, 'WALLET_MAX_BALANCE', 1_000_000_000, 1),
    seedDemo: bool(env, 'SEED_DEMO', undefined),
    wsEngine,
    logLevel: str(env, 'LOG_LEVEL') ?? 'info',
    rateLimitPerUser: int(env, 'RATE_LIMIT_PER_USER', 20, 1),
    rateLimitPerIp: int(env, 'RATE_LIMIT_PER_IP', 30, 1),
    maxSocketsPerUser: int(env, 'MAX_SOCKETS_PER_USER', 5, 1, 1000),
    trustProxy: str(env, 'TRUST_PROXY'),
    queueEntriesPerIp: int(env, 'QUEUE_ENTRIES_PER_IP', 0, 0),
    queueChallengeCost: int(env, 'QUEUE_CHALLENGE_COST', 100_000, 1, 100_000_000),
    queueChallengeTtlSeconds: int(env, 'QUEUE_CHALLENGE_TTL_SECONDS', 300, 1, 86_400),
    roomIdleMs: int(env, 'ROOM_IDLE_MS', 60_000, 100),
    dateRoomMaxBatch: int(env, 'DATE_ROOM_MAX_BATCH', 512, 1, 10_000),
    dateLeaseMs: int(env, 'DATE_LEASE_MS', 3000, 300, 600_000),
    instanceId: str(env, 'INSTANCE_ID'),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
  };
}

/** Measured here: N=16384, r=11 costs about 50 ms per hash (bench/password-hash.ts). */
function powerOfTwo(env: Env, name: string, fallback: number): number {
  const value = int(env, name, fallback, 2, 1 << 20);
  if ((value & (value - 1)) !== 0) throw new ConfigError(`${name} must be a power of two, got ${value}`);
  return value;
}

/** A provider's tokens are only safe to accept when they are checked to be meant for us. */
function identityProvider(env: Env): Pick<Config, 'jwtJwksUrl' | 'jwtPublicKey' | 'jwtIssuer' | 'jwtAudience'> {
  const provider = { jwtJwksUrl: str(env, 'JWT_JWKS_URL'), jwtPublicKey: str(env, 'JWT_PUBLIC_KEY'), jwtIssuer: str(env, 'JWT_ISSUER'), jwtAudience: str(env, 'JWT_AUDIENCE') };
  if (provider.jwtJwksUrl && provider.jwtPublicKey) throw new ConfigError('set JWT_JWKS_URL or JWT_PUBLIC_KEY, not both');
  if ((provider.jwtJwksUrl || provider.jwtPublicKey) && (!provider.jwtIssuer || !provider.jwtAudience)) {
    throw new ConfigError('JWT_ISSUER and JWT_AUDIENCE are required with JWT_JWKS_URL or JWT_PUBLIC_KEY');
  }
  if (provider.jwtJwksUrl && !/^https?:\/\//.test(provider.jwtJwksUrl)) throw new ConfigError(`JWT_JWKS_URL must be an http(s) URL, got "${provider.jwtJwksUrl}"`);
  return provider;
}
