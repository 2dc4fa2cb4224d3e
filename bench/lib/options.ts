/** Command-line options of the load generator, with defaults sized for this 2-core machine. */
export interface LoadOptions {
  /** A running server; unset: start one in a child process against a fresh database. */
  url?: string;
  /** The server's database, for the SQL invariants (set automatically when the generator starts the server). */
  databaseUrl?: string;
  adminToken: string;
  buyers: number;
  /** Worker processes; 0 = one per `perWorker` buyers. */
  workers: number;
  perWorker: number;
  connectConcurrency: number;
  signupConcurrency: number;
  rampMs: number;
  dates: number;
  seatsPerDate: number;
  /** Each buyer holds 1..maxSeats seats. */
  maxSeats: number;
  thinkMs: number;
  durationS: number;
  pay: number;
  abandon: number;
  cancel: number;
  /** Of the buyers who paid, the fraction who then cancel (refund). */
  refund: number;
  holdRetries: number;
  /** Keep watching the date after finishing (more fan-out; every map is compared at the end). */
  stayWatching: boolean;
  soldoutWaitMs: number;
  ackTimeoutMs: number;
  /** Hold storm after the sale: seconds (0 = none), users, seats of its hot date. */
  stormS: number;
  stormUsers: number;
  stormSeats: number;
  /** Offered hold attempts per second over all storm users (0 = closed loop, as fast as acks return). */
  stormRate: number;
  /** Storm users who watch the hot date (the rest pick seats blind): the generator cannot absorb every delta to every storm user. */
  stormWatchers: number;
  baselines: boolean;
  baselineEngines: ('uws' | 'node')[];
  baselineSeconds: number;
  broadcasts: number;
  broadcastIntervalMs: number;
  json: boolean;
  /** Where the run's JSON and HTML report go ('' = not written). */
  reportDir: string;
  quiet: boolean;
  seed: number;
  /** Server settings, used when the generator starts the server (and as expectations with --url). */
  engine: 'auto' | 'uws' | 'node';
  holdTtlS: number;
  admitBatch: number;
  admitIntervalMs: number;
  maxActive: number;
  activeTtlS: number;
  rateLimitPerUser: number;
  keepDb: boolean;
  /** Run the started server with --cpu-prof and print where its CPU went. */
  profile: boolean;
}

export const DEFAULTS: LoadOptions = {
  adminToken: 'loadtest-admin-token-0123456789',
  buyers: 500,
  workers: 0,
  perWorker: 6000,
  connectConcurrency: 200,
  signupConcurrency: 32,
  rampMs: 2000,
  dates: 1,
  seatsPerDate: 50,
  maxSeats: 4,
  thinkMs: 200,
  durationS: 60,
  pay: 0.7,
  abandon: 0.15,
  cancel: 0.15,
  refund: 0.05,
  holdRetries: 10,
  stayWatching: false,
  soldoutWaitMs: 4000,
  ackTimeoutMs: 30_000,
  stormS: 0,
  stormUsers: 200,
  stormSeats: 10_000,
  stormRate: 0,
  stormWatchers: 20,
  baselines: false,
  baselineEngines: ['uws', 'node'],
  baselineSeconds: 3,
  broadcasts: 20,
  broadcastIntervalMs: 1000,
  json: false,
  reportDir: 'bench/results',
  quiet: false,
  seed: 1,
  engine: 'auto',
  holdTtlS: 5,
  admitBatch: 200,
  admitIntervalMs: 100,
  maxActive: 1000,
  activeTtlS: 120,
  rateLimitPerUser: 1000,
  keepDb: false,
  profile: false,
};

const HELP: Record<string, string> = {
  url: 'running server, or several instances comma-separated (workers spread over them); default: start one on a free port, fresh database',
  'database-url': "server's database for the SQL invariants (with --url)",
  'admin-token': 'ADMIN_TOKEN of the server (creates the concert)',
  buyers: 'simulated buyers (one socket each)',
  workers: 'worker processes (0 = auto, one per --per-worker buyers)',
  'per-worker': 'buyers per worker process (a process holds at most ~19,900 sockets)',
  'connect-concurrency': 'connects in flight at once, over all workers',
  'signup-concurrency': 'POST /users in flight per worker',
  'ramp-ms': 'spread buyer arrivals over this long',
  dates: 'dates of the concert',
  'seats-per-date': 'seats on each date',
  'max-seats': 'each buyer holds 1..K seats',
  'think-ms': 'mean pause between a buyer\'s steps (uniform 0..2×)',
  'duration-s': 'longest the sale runs',
  pay: 'share of buyers who pay',
  abandon: 'share who hold and let the hold expire',
  cancel: 'share who hold and cancel',
  refund: 'share of payers who cancel after paying (refund)',
  'hold-retries': 'fresh picks after SEAT_UNAVAILABLE',
  'stay-watching': 'buyers keep watching their date after they finish (default: seats:unwatch when done)',
  'soldout-wait-ms': 'how long a buyer waits for a seat to free up when none is FREE',
  'ack-timeout-ms': 'an ack not received within this is an error',
  'storm-s': 'hold storm after the sale: seconds of hold→cancel loops on one hot date (0 = off)',
  'storm-users': 'users in the hold storm',
  'storm-seats': 'seats of the storm date',
  'storm-watchers': 'storm users who also watch the hot date (fan-out under the storm); the others pick random seats blind',
  'storm-rate': 'offered holds/s over all storm users (0 = closed loop); a user whose last hold→cancel is still running skips its turn (counted)',
  baselines: 'measure raw socket.io and raw PostgreSQL in the same run (--no-baselines to skip)',
  'baseline-engines': 'comma list: uws,node',
  'baseline-seconds': 'seconds per PostgreSQL baseline',
  broadcasts: 'broadcasts sent in the socket.io baseline',
  'broadcast-interval-ms': 'between baseline broadcasts (1 s, like an admission tick: at 10,000 sockets a faster rate measures the generator)',
  json: 'print the result as JSON on stdout (progress goes to stderr)',
  'report-dir': "write the result as JSON and an HTML report (charts per second) there ('' = none)",
  quiet: 'no progress line',
  seed: 'random seed of buyer choices',
  engine: 'server engine when started here: auto, uws or node',
  'hold-ttl-s': 'HOLD_TTL_SECONDS of the started server',
  'admit-batch': 'QUEUE_ADMIT_BATCH of the started server',
  'admit-interval-ms': 'QUEUE_ADMIT_INTERVAL_MS of the started server',
  'max-active': 'QUEUE_MAX_ACTIVE of the started server',
  'active-ttl-s': 'QUEUE_ACTIVE_TTL_SECONDS (also used to derive admission time from expiresAt)',
  'rate-limit-per-user': 'RATE_LIMIT_PER_USER of the started server',
  'keep-db': 'keep the database the generator created',
  profile: 'run the started server under --cpu-prof and report its hottest functions',
};

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function usage(): string {
  const lines = Object.entries(HELP).map(([flag, text]) => {
    const d = (DEFAULTS as unknown as Record<string, string | number | boolean | string[] | undefined>)[camel(flag)];
    return `  --${flag.padEnd(20)} ${text}${d === undefined ? '' : ` [${Array.isArray(d) ? d.join(',') : String(d)}]`}`;
  });
  return `usage: npm run loadtest -- [options]\n\n${lines.join('\n')}\n`;
}

export class UsageError extends Error {}

export function parseOptions(argv: string[], base: Partial<LoadOptions> = {}): LoadOptions {
  const options: LoadOptions = { ...DEFAULTS, ...base };
  const target = options as unknown as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') throw new UsageError(usage());
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"\n\n${usage()}`);
    let [flag, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let negated = false;
    if (flag.startsWith('no-') && HELP[flag.slice(3)] !== undefined) {
      flag = flag.slice(3);
      negated = true;
    }
    if (HELP[flag] === undefined) throw new UsageError(`unknown option --${flag}\n\n${usage()}`);
    const key = camel(flag);
    const current = (DEFAULTS as unknown as Record<string, unknown>)[key];
    if (typeof current === 'boolean') {
      target[key] = negated ? false : value === undefined ? true : /^(true|1|yes)$/i.test(value);
      continue;
    }
    if (value === undefined) value = argv[++i];
    if (value === undefined) throw new UsageError(`--${flag} needs a value`);
    if (typeof current === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${flag} must be a non-negative number, got "${value}"`);
      target[key] = n;
    } else if (Array.isArray(current)) {
      target[key] = value.split(',').filter(Boolean);
    } else {
      target[key] = value;
    }
  }
  return validate(options);
}

function validate(o: LoadOptions): LoadOptions {
  if (o.buyers < 1) throw new UsageError('--buyers must be at least 1');
  if (o.maxSeats < 1) throw new UsageError('--max-seats must be at least 1');
  if (o.dates < 1 || o.seatsPerDate < 1) throw new UsageError('--dates and --seats-per-date must be at least 1');
  if (o.pay + o.abandon + o.cancel <= 0) throw new UsageError('--pay, --abandon and --cancel cannot all be 0');
  if (o.seatsPerDate > 100_000 || o.stormSeats > 100_000) throw new UsageError('a date has at most 100,000 seats (POST /admin/concerts)');
  if (o.perWorker > 19_000) throw new UsageError('--per-worker above 19,000: one process holds at most ~19,900 sockets');
  if (!['auto', 'uws', 'node'].includes(o.engine)) throw new UsageError('--engine must be auto, uws or node');
  for (const e of o.baselineEngines) if (e !== 'uws' && e !== 'node') throw new UsageError('--baseline-engines takes uws,node');
  if (o.url) o.url = o.url.split(',').map((u) => u.trim().replace(/\/$/, '')).join(',');
  return o;
}

export function workerCount(o: LoadOptions): number {
  const auto = Math.ceil(o.buyers / o.perWorker);
  return Math.max(1, o.workers || auto, auto);
}
