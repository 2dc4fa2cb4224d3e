import type { MigrationFn } from 'umzug';
import type { QueryInterface } from 'sequelize';

/**
 * wallet:charge group-committed, as the date rooms commit holds: the charges
 * that arrive together run as one statement and one transaction (one round
 * trip, one fsync) instead of one each. Each charge runs tix_charge in a
 * block of its own, so a refused charge (TXCAP, TXUSR, or the claim's foreign
 * key, 23503) rolls back only its own claim and changes, and answers
 * `{"refused": {"code", "detail"}}` in its place; the others commit.
 *
 * The caller sends the charges sorted by user: two batches, or a batch and a
 * date room's commit, then lock users in the same order. Within one batch a
 * second charge under the same key sees the first's claim and answer (the same
 * transaction) and returns it as `stored`, exactly as it would after a commit.
 */
const CHARGE_MANY = `
CREATE OR REPLACE FUNCTION tix_charge_many(charges jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  c jsonb;
  answers jsonb := '[]'::jsonb;
BEGIN
  FOR c IN SELECT value FROM jsonb_array_elements(charges) LOOP
    BEGIN
      answers := answers || jsonb_build_array(tix_charge((c->>'userId')::int, (c->>'amount')::bigint, (c->>'maxBalance')::bigint, c->>'scope', c->>'key', c->>'hash'));
    EXCEPTION WHEN SQLSTATE 'TXCAP' OR SQLSTATE 'TXUSR' OR foreign_key_violation THEN
      DECLARE
        code_ text;
        detail_ text;
      BEGIN
        GET STACKED DIAGNOSTICS code_ = RETURNED_SQLSTATE, detail_ = PG_EXCEPTION_DETAIL;
        answers := answers || jsonb_build_array(jsonb_build_object('refused', jsonb_build_object('code', code_, 'detail', detail_)));
      END;
    END;
  END LOOP;
  RETURN answers;
END
$fn$`;

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(CHARGE_MANY);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query('DROP FUNCTION IF EXISTS tix_charge_many(jsonb)');
};
