import type { MigrationFn } from 'umzug';
import type { QueryInterface } from 'sequelize';

/**
 * Sale settings per concert, and the trail of every change to them.
 *
 * A concert without a row (created before this migration, or by the demo
 * seed) sells with the environment's defaults and opens at its creation time;
 * the first change writes its row. The audit keeps one row per changed field;
 * the rows of one change share `at` (the transaction's time), which is how
 * the API groups them back into one entry.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    CREATE TABLE concert_sales (
      concert_id          integer PRIMARY KEY REFERENCES concerts(id) ON DELETE CASCADE,
      opens_at            timestamptz NOT NULL,
      admit_per_tick      integer NOT NULL CHECK (admit_per_tick >= 0),
      max_active          integer NOT NULL CHECK (max_active >= 0),
      active_ttl_seconds  integer NOT NULL CHECK (active_ttl_seconds >= 1),
      paused              boolean NOT NULL DEFAULT false,
      challenge           text NOT NULL CHECK (challenge IN ('off', 'pow'))
    );

    CREATE TABLE sale_audit (
      id          bigserial PRIMARY KEY,
      at          timestamptz NOT NULL DEFAULT now(),
      concert_id  integer NOT NULL REFERENCES concerts(id) ON DELETE CASCADE,
      field       text NOT NULL,
      before      jsonb,
      after       jsonb
    );
    CREATE INDEX sale_audit_newest ON sale_audit (at DESC, concert_id);
    CREATE INDEX sale_audit_by_concert ON sale_audit (concert_id, at DESC);
  `);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query('DROP TABLE IF EXISTS sale_audit; DROP TABLE IF EXISTS concert_sales;');
};
