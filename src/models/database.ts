import pg from 'pg';
import { Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';
import * as initial from './migrations/001-initial';
import * as idempotencyKeyPerUser from './migrations/002-idempotency-key-per-user';
import * as commitBatch from './migrations/003-commit-batch';
import * as charge from './migrations/004-charge';
import * as accounts from './migrations/005-accounts';
import * as idempotencyOwner from './migrations/006-idempotency-owner';
import * as sale from './migrations/007-sale';
import * as queueEntries from './migrations/008-queue-entries';
import * as chargeMany from './migrations/009-charge-many';
import * as queueDraws from './migrations/010-queue-draws';
import * as commitBatchSequenceOnce from './migrations/011-commit-batch-sequence-once';
import { defineModels, type Models } from './models';
import { ProcessOwner } from './process-owner';

// Balances and versions are bigint columns holding values far below 2^53: read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface Database {
  sequelize: Sequelize;
  /**
   * A small pool of its own for the group commits (date rooms, and the one
   * charge batch in flight): the hot path never waits behind other queries,
   * and work that holds a connection while it waits for a room (an
   * idempotency record around a payment) cannot starve the room.
   */
  commits: Sequelize;
  /**
   * Idempotency keys: one batch of claims and one of answers in flight, and
   * a connection for the rare rest (takeovers, the purge). A payment's two
   * key writes never wait for the main pool, which a sale fills in bursts.
   */
  keys: Sequelize;
  /** The waiting room's journal: one write in flight, so a join or a paid entry's end never waits for the main pool. */
  journal: Sequelize;
  models: Models;
  /** Names this process in work it claims (idempotency keys), so others can see when it died. */
  owner: ProcessOwner;
  close(): Promise<void>;
}

const MIGRATIONS = [
  { name: '001-initial', ...initial },
  { name: '002-idempotency-key-per-user', ...idempotencyKeyPerUser },
  { name: '003-commit-batch', ...commitBatch },
  { name: '004-charge', ...charge },
  { name: '005-accounts', ...accounts },
  { name: '006-idempotency-owner', ...idempotencyOwner },
  { name: '007-sale', ...sale },
  { name: '008-queue-entries', ...queueEntries },
  { name: '009-charge-many', ...chargeMany },
  { name: '010-queue-draws', ...queueDraws },
  { name: '011-commit-batch-sequence-once', ...commitBatchSequenceOnce },
];
// Any constant works: it only has to be the same for every instance migrating this database.
const MIGRATION_LOCK = 7_114_301;

// JIT off: the planner's estimates for tables a sale grows fast (never analysed yet, or full of dead
// index entries) pass jit_above_cost, and a 3 ms catalog read then spends ~180 ms compiling itself,
// every time (BENCHMARKS.md "Cut 5e"). Every statement here is short; none gains from JIT.
const connect = (url: string, max: number) =>
  new Sequelize(url, {
    dialect: 'postgres',
    logging: false,
    dialectOptions: { options: '-c jit=off' },
    pool: { max, min: 0, idle: 10_000, acquire: 30_000 },
  });

export async function openDatabase(url: string, poolMax = 20): Promise<Database> {
  const sequelize = connect(url, poolMax);
  await sequelize.authenticate();
  await migrate(sequelize);
  // One connection per room committing at once; eight dates can commit in parallel.
  const commits = connect(url, 8);
  const keys = connect(url, 3);
  const journal = connect(url, 1);
  const owner = new ProcessOwner(sequelize);
  return {
    sequelize,
    commits,
    keys,
    journal,
    models: defineModels(sequelize),
    owner,
    close: async () => {
      await owner.close();
      await commits.close();
      await keys.close();
      await journal.close();
      await sequelize.close();
    },
  };
}

/** Reports how long each query of `sequelize` waited for a pooled connection. */
export function timePoolWaits(sequelize: Sequelize, observe: (seconds: number) => void): void {
  // Sequelize passes the same options object to both hooks of one acquire.
  const started = new WeakMap<object, number>();
  sequelize.addHook('beforePoolAcquire', (options: object) => {
    started.set(options, performance.now());
  });
  sequelize.addHook('afterPoolAcquire', (_connection: unknown, options: object) => {
    const at = started.get(options);
    if (at !== undefined) observe((performance.now() - at) / 1000);
  });
}

/** Idempotent, and safe when several instances start at once: they take turns on an advisory lock. */
async function migrate(sequelize: Sequelize): Promise<void> {
  await sequelize.transaction(async (transaction) => {
    await sequelize.query('SELECT pg_advisory_xact_lock(:lock)', { replacements: { lock: MIGRATION_LOCK }, transaction });
    const umzug = new Umzug({
      migrations: MIGRATIONS.map((m) => ({ name: m.name, up: m.up, down: m.down })),
      context: sequelize.getQueryInterface(),
      storage: new SequelizeStorage({ sequelize }),
      logger: undefined,
    });
    await umzug.up();
  });
}
