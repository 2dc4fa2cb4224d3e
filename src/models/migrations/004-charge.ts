import type { MigrationFn } from 'umzug';
import type { QueryInterface } from 'sequelize';

/**
 * wallet:charge as one statement, for the reason migration 003 gives: a
 * keyed charge was six round trips (begin, isolation, claim, update, answer,
 * commit) holding a pooled connection across six turns of a busy event loop,
 * and a burst of them starved the pool for every other query.
 *
 * With a key: the claim, the balance change and the stored answer commit
 * together. A concurrent duplicate's INSERT waits on the key's unique index
 * until the first commits; each statement of a VOLATILE function takes a new
 * snapshot under READ COMMITTED, so its next SELECT sees the first answer,
 * which it returns as `stored` for the caller to replay or refuse. A refusal
 * raises, so the claim rolls back and the key stays free:
 *   TXCAP  the balance would exceed max_balance (DETAIL: the balance)
 *   TXUSR  no such user (also the claim's foreign key, 23503)
 */
const CHARGE = `
CREATE OR REPLACE FUNCTION tix_charge(user_id_ int, amount_ bigint, max_balance bigint, scope_ text, key_ text, hash_ text)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  balance_ bigint;
  stored record;
BEGIN
  IF key_ IS NOT NULL THEN
    FOR attempt IN 1..3 LOOP
      INSERT INTO idempotency_keys (user_id, scope, key, request_hash) VALUES (user_id_, scope_, key_, hash_)
      ON CONFLICT (user_id, key) DO NOTHING;
      EXIT WHEN FOUND;
      SELECT scope, request_hash, response INTO stored FROM idempotency_keys WHERE user_id = user_id_ AND key = key_;
      IF FOUND THEN
        RETURN jsonb_build_object('stored', jsonb_build_object('scope', stored.scope, 'hash', stored.request_hash, 'response', stored.response));
      END IF;
      -- Purged between the conflict and the read: claim again.
      IF attempt = 3 THEN
        RAISE EXCEPTION 'idempotency key vanished while being read, three times';
      END IF;
    END LOOP;
  END IF;

  -- clock_timestamp(): the ledger row's time is when the balance changed.
  WITH changed AS (
    UPDATE users SET balance = balance + amount_ WHERE id = user_id_ AND balance + amount_ <= max_balance RETURNING balance
  )
  INSERT INTO wallet_ledger (user_id, kind, amount, balance_after, created_at)
  SELECT user_id_, 'CHARGE', amount_, balance, clock_timestamp() FROM changed
  RETURNING balance_after INTO balance_;
  IF NOT FOUND THEN
    SELECT balance INTO balance_ FROM users WHERE id = user_id_;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'no such user %', user_id_ USING ERRCODE = 'TXUSR';
    END IF;
    RAISE EXCEPTION 'the balance would exceed its cap' USING ERRCODE = 'TXCAP', DETAIL = balance_::text;
  END IF;

  IF key_ IS NOT NULL THEN
    UPDATE idempotency_keys SET response = jsonb_build_object('balance', balance_) WHERE user_id = user_id_ AND key = key_;
  END IF;
  RETURN jsonb_build_object('balance', balance_);
END
$fn$`;

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(CHARGE);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query('DROP FUNCTION IF EXISTS tix_charge(int, bigint, bigint, text, text, text)');
};
