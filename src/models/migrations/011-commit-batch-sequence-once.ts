import type { MigrationFn } from 'umzug';
import type { QueryInterface } from 'sequelize';
import { up as commitBatchOf003 } from './003-commit-batch';

/**
 * tix_commit_batch as migration 003 wrote it, with the reservations' id
 * sequence looked up once per call instead of once per new hold (a catalog
 * read, ≈ 1.7 µs each). Same arguments, same result, same refusals (TXFEN,
 * TXSTA, TXBAL, TXUSR), same order of writes: see 003 for what each step is
 * for.
 *
 * Where the rest of a commit's PostgreSQL time goes (measured on a 92-row
 * batch of a hot date, BENCHMARKS.md "Cut 3"): about half is the foreign-key
 * checks, one SPI query per new row and key (five per hold: concert, date,
 * user, seat, reservation); most of the other half is index upkeep of the
 * inserted and updated rows. Neither can be cut inside the function.
 */
const COMMIT_BATCH = `
CREATE OR REPLACE FUNCTION tix_commit_batch(batch jsonb) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  date_id_ int := (batch->>'dateId')::int;
  concert_id_ int := (batch->>'concertId')::int;
  fence_ bigint := (batch->>'fence')::bigint;
  expected int := jsonb_array_length(batch->'transitions');
  moved int;
  ids int[];
  m jsonb;
  delta bigint;
  balance_ bigint;
  payment_id int;
  money jsonb := '[]'::jsonb;
  -- Looked up once per call: pg_get_serial_sequence reads the catalog, and the insert below ran it once per row.
  ids_seq regclass := pg_get_serial_sequence('reservations', 'id')::regclass;
BEGIN
  UPDATE concert_dates SET version = (batch->>'version')::int
   WHERE id = date_id_ AND (fence_ IS NULL OR owner_fence = fence_);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'lost ownership of date %', date_id_ USING ERRCODE = 'TXFEN';
  END IF;

  IF expected > 0 THEN
    WITH t AS (
      SELECT * FROM jsonb_to_recordset(batch->'transitions') AS t(id int, prev text, status text, at timestamptz)
    ), changed AS (
      UPDATE reservations r
         SET status = t.status,
             paid_at = CASE WHEN t.status = 'CONFIRMED' THEN t.at ELSE r.paid_at END,
             ended_at = CASE WHEN t.status IN ('CANCELED', 'EXPIRED') THEN t.at ELSE r.ended_at END
        FROM t
       WHERE r.id = t.id AND r.status = t.prev
      RETURNING r.id, t.status
    ), freed AS (
      UPDATE reservation_seats s SET live = false
        FROM changed WHERE s.reservation_id = changed.id AND changed.status IN ('CANCELED', 'EXPIRED')
    )
    SELECT count(*) INTO moved FROM changed;
    IF moved <> expected THEN
      RAISE EXCEPTION 'stale reservation state: % rows changed elsewhere', expected - moved USING ERRCODE = 'TXSTA';
    END IF;
  END IF;

  -- Ids are drawn per input row (a volatile CTE runs once), so they come back in input order;
  -- the seats' foreign key is checked at the end of the statement, after both inserts.
  WITH input AS (
    SELECT r, ord FROM jsonb_array_elements(batch->'inserts') WITH ORDINALITY AS e(r, ord)
  ), new_ids AS (
    SELECT nextval(ids_seq)::int AS id, ord FROM input
  ), reservation AS (
    INSERT INTO reservations (id, user_id, date_id, concert_id, status, total, expires_at, created_at)
    SELECT new_ids.id, (r->>'userId')::int, date_id_, concert_id_, 'HELD', (r->>'total')::bigint,
           (r->>'expiresAt')::timestamptz, (r->>'createdAt')::timestamptz
      FROM input JOIN new_ids USING (ord)
  ), seat AS (
    INSERT INTO reservation_seats (reservation_id, date_id, seat_number, price)
    SELECT new_ids.id, date_id_, (s->>'number')::int, (s->>'price')::int
      FROM input JOIN new_ids USING (ord), jsonb_array_elements(r->'seats') AS s
  )
  SELECT coalesce(array_agg(id ORDER BY ord), '{}') INTO ids FROM new_ids;

  -- clock_timestamp(): a ledger row's time is when the balance changed, not when the batch began.
  FOR m IN SELECT value FROM jsonb_array_elements(batch->'money') LOOP
    delta := CASE WHEN m->>'kind' = 'PAYMENT' THEN -(m->>'amount')::bigint ELSE (m->>'amount')::bigint END;
    UPDATE users SET balance = balance + delta WHERE id = (m->>'userId')::int AND balance + delta >= 0
    RETURNING balance INTO balance_;
    IF NOT FOUND THEN
      SELECT balance INTO balance_ FROM users WHERE id = (m->>'userId')::int;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'no such user %', m->>'userId' USING ERRCODE = 'TXUSR';
      END IF;
      RAISE EXCEPTION 'balance is below the amount due' USING ERRCODE = 'TXBAL',
        DETAIL = jsonb_build_object('balance', balance_, 'required', (m->>'amount')::bigint)::text;
    END IF;
    INSERT INTO wallet_ledger (user_id, kind, amount, balance_after, reservation_id, created_at)
    VALUES ((m->>'userId')::int, m->>'kind', (m->>'amount')::bigint, balance_, (m->>'reservationId')::int, clock_timestamp());
    payment_id := NULL;
    IF m->>'kind' = 'PAYMENT' THEN
      INSERT INTO payments (reservation_id, user_id, amount, created_at)
      VALUES ((m->>'reservationId')::int, (m->>'userId')::int, (m->>'amount')::bigint, (m->>'at')::timestamptz)
      RETURNING id INTO payment_id;
    END IF;
    money := money || jsonb_build_object('balance', balance_, 'paymentId', payment_id);
  END LOOP;

  RETURN jsonb_build_object('ids', to_jsonb(ids), 'money', money);
END
$fn$`;

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(COMMIT_BATCH);
};

export const down: MigrationFn<QueryInterface> = async (params) => {
  await commitBatchOf003(params);
};
