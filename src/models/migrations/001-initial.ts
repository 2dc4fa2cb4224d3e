import type { MigrationFn } from 'umzug';
import type { QueryInterface } from 'sequelize';

/**
 * The whole domain in one migration, so later features add behaviour, not tables.
 * Raw SQL, because the constraints that keep money and seats right (partial
 * unique index, checks) are the point and read best as SQL.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    CREATE TABLE users (
      id          serial PRIMARY KEY,
      name        text NOT NULL,
      balance     bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
      created_at  timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE concerts (
      id          serial PRIMARY KEY,
      title       text NOT NULL,
      venue       text NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE concert_dates (
      id           serial PRIMARY KEY,
      concert_id   integer NOT NULL REFERENCES concerts(id) ON DELETE CASCADE,
      starts_at    timestamptz NOT NULL,
      total_seats  integer NOT NULL CHECK (total_seats > 0),
      -- SeatMap.version: grows by one per committed change set, survives restarts.
      version      bigint NOT NULL DEFAULT 0,
      -- Fencing token of the date room's current owner (scale-out); commits check it.
      owner_fence  bigint NOT NULL DEFAULT 0
    );
    CREATE INDEX concert_dates_by_concert ON concert_dates (concert_id, starts_at);

    CREATE TABLE seats (
      date_id  integer NOT NULL REFERENCES concert_dates(id) ON DELETE CASCADE,
      number   integer NOT NULL CHECK (number > 0),
      grade    text NOT NULL,
      price    integer NOT NULL CHECK (price > 0),
      PRIMARY KEY (date_id, number)
    );

    CREATE TABLE reservations (
      id          serial PRIMARY KEY,
      user_id     integer NOT NULL REFERENCES users(id),
      date_id     integer NOT NULL REFERENCES concert_dates(id),
      concert_id  integer NOT NULL REFERENCES concerts(id),
      status      text NOT NULL CHECK (status IN ('HELD', 'CONFIRMED', 'CANCELED', 'EXPIRED')),
      total       bigint NOT NULL CHECK (total > 0),
      expires_at  timestamptz NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now(),
      paid_at     timestamptz,
      ended_at    timestamptz
    );
    CREATE INDEX reservations_by_user ON reservations (user_id, id DESC);
    CREATE INDEX reservations_live_by_date ON reservations (date_id) WHERE status IN ('HELD', 'CONFIRMED');

    -- The last line of defence against double selling: whatever writes, a seat
    -- is in at most one live (HELD or CONFIRMED) reservation.
    CREATE TABLE reservation_seats (
      reservation_id  integer NOT NULL REFERENCES reservations(id) ON DELETE CASCADE,
      date_id         integer NOT NULL,
      seat_number     integer NOT NULL,
      price           integer NOT NULL,
      live            boolean NOT NULL DEFAULT true,
      PRIMARY KEY (reservation_id, seat_number),
      FOREIGN KEY (date_id, seat_number) REFERENCES seats(date_id, number)
    );
    CREATE UNIQUE INDEX reservation_seats_one_live ON reservation_seats (date_id, seat_number) WHERE live;

    CREATE TABLE payments (
      id              serial PRIMARY KEY,
      reservation_id  integer NOT NULL UNIQUE REFERENCES reservations(id),
      user_id         integer NOT NULL REFERENCES users(id),
      amount          bigint NOT NULL CHECK (amount > 0),
      created_at      timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE wallet_ledger (
      id              bigserial PRIMARY KEY,
      user_id         integer NOT NULL REFERENCES users(id),
      kind            text NOT NULL CHECK (kind IN ('CHARGE', 'PAYMENT', 'REFUND')),
      amount          bigint NOT NULL CHECK (amount > 0),
      balance_after   bigint NOT NULL CHECK (balance_after >= 0),
      reservation_id  integer REFERENCES reservations(id),
      created_at      timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX wallet_ledger_by_user ON wallet_ledger (user_id, id DESC);

    CREATE TABLE idempotency_keys (
      user_id       integer NOT NULL REFERENCES users(id),
      scope         text NOT NULL,
      key           text NOT NULL,
      request_hash  text NOT NULL,
      status_code   integer,
      response      jsonb,
      created_at    timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, scope, key)
    );
    CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
  `);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    DROP TABLE idempotency_keys, wallet_ledger, payments, reservation_seats, reservations,
      seats, concert_dates, concerts, users;
  `);
};
