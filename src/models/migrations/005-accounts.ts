import type { MigrationFn } from 'umzug';
import type { QueryInterface } from 'sequelize';

/**
 * Accounts and sessions. A local account's name is unique case-insensitively;
 * names taken twice before this migration keep working, the later ones
 * suffixed with their id. An external identity is (issuer, subject): its name
 * is the provider's business, so it is outside the local uniqueness.
 *
 * A session is a row: access tokens name it (`sid`) and die with it; its
 * refresh token is stored as a SHA-256 hash only. Spent refresh hashes are
 * kept while the session lives, so presenting one again is told apart from a
 * made-up token and revokes the session (theft detection).
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    ALTER TABLE users
      ADD COLUMN password_hash text,
      ADD COLUMN external_issuer text,
      ADD COLUMN external_subject text;
    UPDATE users u SET name = u.name || ' #' || u.id
      WHERE EXISTS (SELECT 1 FROM users o WHERE lower(o.name) = lower(u.name) AND o.id < u.id);
    CREATE UNIQUE INDEX users_name_lower ON users (lower(name)) WHERE external_issuer IS NULL;
    CREATE UNIQUE INDEX users_external_identity ON users (external_issuer, external_subject) WHERE external_issuer IS NOT NULL;
    CREATE TABLE sessions (
      id uuid PRIMARY KEY,
      user_id integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      refresh_hash bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz
    );
    CREATE INDEX sessions_user ON sessions (user_id);
    CREATE TABLE spent_refresh_tokens (
      hash bytea PRIMARY KEY,
      session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE
    );
    CREATE INDEX spent_refresh_tokens_session ON spent_refresh_tokens (session_id);
  `);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    DROP TABLE IF EXISTS spent_refresh_tokens;
    DROP TABLE IF EXISTS sessions;
    DROP INDEX IF EXISTS users_external_identity;
    DROP INDEX IF EXISTS users_name_lower;
    ALTER TABLE users DROP COLUMN IF EXISTS password_hash, DROP COLUMN IF EXISTS external_issuer, DROP COLUMN IF EXISTS external_subject;
  `);
};
