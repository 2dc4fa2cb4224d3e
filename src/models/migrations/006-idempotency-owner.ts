import type { MigrationFn } from 'umzug';
import type { QueryInterface } from 'sequelize';

/**
 * A pending idempotency claim names the process working on it (its
 * ProcessOwner id, held as an advisory lock while the process lives), so the
 * next request with the key can tell a claim still being worked on from one
 * whose process died, and take the latter over at once.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`ALTER TABLE idempotency_keys ADD COLUMN owner integer`);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`ALTER TABLE idempotency_keys DROP COLUMN owner`);
};
