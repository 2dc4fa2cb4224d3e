import type { MigrationFn } from 'umzug';
import type { QueryInterface } from 'sequelize';

/**
 * The waiting room of the single-instance default (no Redis), kept in
 * PostgreSQL so that a restart or a crash keeps every acknowledged entry.
 * The process's memory stays the source of truth for reads; these rows are
 * what it is rebuilt from on start.
 *
 * An entry is keyed by its ticket, or, while it waits for the opening's draw,
 * by its negative pre-queue key; the draw moves it to its ticket and keeps the
 * old key in `pre_key`, since queue tokens issued before the draw name it.
 * `in_line` stays true for a waiter who ended until the tick that announces
 * its ticket in `left`, so positions after a restart are the ones clients
 * computed. A room records its counters and the process that owns it (a
 * ProcessOwner id): a starting instance takes over the rooms whose owner died.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    CREATE TABLE queue_rooms (
      concert_id  integer PRIMARY KEY REFERENCES concerts(id) ON DELETE CASCADE,
      owner       integer,
      seq         integer NOT NULL CHECK (seq >= 0),
      pre_seq     integer NOT NULL CHECK (pre_seq >= 0),
      tick        integer NOT NULL CHECK (tick >= 0),
      rate        double precision NOT NULL,
      paused      boolean NOT NULL DEFAULT false
    );

    CREATE TABLE queue_entries (
      concert_id  integer NOT NULL REFERENCES concerts(id) ON DELETE CASCADE,
      key         integer NOT NULL CHECK (key <> 0),
      pre_key     integer CHECK (pre_key < 0),
      user_id     integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      status      text NOT NULL CHECK (status IN ('WAITING', 'ACTIVE', 'EXPIRED')),
      early       boolean NOT NULL DEFAULT false,
      in_line     boolean NOT NULL,
      expires_at  timestamptz,
      reason      text CHECK (reason IN ('TIMEOUT', 'PAID', 'IDLE', 'LEFT')),
      ended_at    timestamptz,
      PRIMARY KEY (concert_id, key),
      CHECK ((status = 'ACTIVE') = (expires_at IS NOT NULL)),
      CHECK ((status = 'EXPIRED') = (ended_at IS NOT NULL))
    );
  `);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query('DROP TABLE IF EXISTS queue_entries; DROP TABLE IF EXISTS queue_rooms;');
};
