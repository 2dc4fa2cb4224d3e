import type { MigrationFn } from 'umzug';
import type { QueryInterface } from 'sequelize';

/**
 * An Idempotency-Key names one request of one user, whatever the command
 * (PROTOCOL.md: a key reused with a different request is IDEMPOTENCY_CONFLICT,
 * and a payment is a different request from a charge). Only a unique key on
 * (user_id, key) makes that hold for concurrent requests; `scope` stays, as the
 * command that recorded the key.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    -- Keys recorded under two scopes before this migration: keep the oldest answer.
    DELETE FROM idempotency_keys k
     USING idempotency_keys older
     WHERE k.user_id = older.user_id AND k.key = older.key
       AND (older.created_at, older.scope) < (k.created_at, k.scope);
    ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey, ADD PRIMARY KEY (user_id, key);
  `);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey, ADD PRIMARY KEY (user_id, scope, key);`);
};
