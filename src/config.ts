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
  /** PEM public key: user tokens are then RS256, issued by an external identity provider. */
  jwtPublicKey?: string;
  allowSignup: boolean;
  adminToken?: string;
  holdTtlSeconds: number;
  maxSeatsPerUser: number;
  queueAdmitIntervalMs: number;
  queueAdmitBatch: number;
  queueMaxActive: number;
  queueActiveTtlSeconds: number;
  queueIdleTimeoutSeconds: number;
  queueMaxWaiting: number;
  walletMaxCharge: number;
  walletMaxBalance: number;
  seedDemo?: boolean;
  wsEngine: 'uws' | 'node' | 'auto';
  logLevel: string;
  /** Socket commands allowed per second per socket (token bucket, burst = 2×). */
  socketRateLimit: number;
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
    jwtSecret: str(env, 'JWT_SECRET'),
    jwtPublicKey: str(env, 'JWT_PUBLIC_KEY'),
    allowSignup: bool(env, 'ALLOW_SIGNUP', true) ?? true,
    adminToken: str(env, 'ADMIN_TOKEN'),
    holdTtlSeconds: int(env, 'HOLD_TTL_SECONDS', 300, 1),
    maxSeatsPerUser: int(env, 'MAX_SEATS_PER_USER', 4, 1, 1000),
    queueAdmitIntervalMs: int(env, 'QUEUE_ADMIT_INTERVAL_MS', 1000, 10),
    queueAdmitBatch: int(env, 'QUEUE_ADMIT_BATCH', 50, 1),
    queueMaxActive: int(env, 'QUEUE_MAX_ACTIVE', 200, 1),
    queueActiveTtlSeconds: int(env, 'QUEUE_ACTIVE_TTL_SECONDS', 600, 1),
    queueIdleTimeoutSeconds: int(env, 'QUEUE_IDLE_TIMEOUT_SECONDS', 120, 1),
    queueMaxWaiting: int(env, 'QUEUE_MAX_WAITING', 100_000, 1),
    walletMaxCharge: int(env, 'WALLET_MAX_CHARGE', 1_000_000, 1),
    walletMaxBalance: int(env, 'WALLET_MAX_BALANCE', 1_000_000_000, 1),
    seedDemo: bool(env, 'SEED_DEMO', undefined),
    wsEngine,
    logLevel: str(env, 'LOG_LEVEL') ?? 'info',
    socketRateLimit: int(env, 'SOCKET_RATE_LIMIT', 100, 1),
    roomIdleMs: int(env, 'ROOM_IDLE_MS', 60_000, 100),
    dateRoomMaxBatch: int(env, 'DATE_ROOM_MAX_BATCH', 512, 1, 10_000),
    dateLeaseMs: int(env, 'DATE_LEASE_MS', 3000, 300, 600_000),
    instanceId: str(env, 'INSTANCE_ID'),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
  };
}
