import type { MigrationFn } from 'umzug';
import type { QueryInterface } from 'sequelize';

/**
 * The opening's draw of the single-instance default, recorded in one row so
 * that it is durable in one small write before anyone is told: the pre-queue
 * keys in drawn order (`keys`, little-endian int32, 4 bytes per user), the
 * i-th of which got ticket `first_ticket + i`. The entries' own rows move
 * from their pre-queue key to their ticket afterwards, in the background; a
 * rebuild applies the draw to the rows it has not reached yet, and the row
 * goes once they all have moved.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    CREATE TABLE queue_draws (
      concert_id    integer NOT NULL REFERENCES concerts(id) ON DELETE CASCADE,
      first_ticket  integer NOT NULL CHECK (first_ticket > 0),
      keys          bytea NOT NULL CHECK (length(keys) % 4 = 0),
      PRIMARY KEY (concert_id, first_ticket)
    );
  `);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query('DROP TABLE IF EXISTS queue_draws;');
};
