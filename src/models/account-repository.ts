import { QueryTypes, UniqueConstraintError, type Sequelize } from 'sequelize';
import { AppError } from '../errors';
import type { Database } from './database';

export interface Account {
  id: number;
  name: string;
  /** Absent for a passwordless account, which can never log in. */
  passwordHash?: string;
}

/** Users as accounts: local names with password hashes, and identities of an external provider. */
export class AccountRepository {
  private readonly sequelize: Sequelize;

  constructor(db: Database) {
    this.sequelize = db.sequelize;
  }

  /** A new local account; NAME_TAKEN when the name exists in any letter case. */
  async create(name: string, passwordHash: string | undefined): Promise<Account> {
    try {
      const [row] = await this.sequelize.query<{ id: number; name: string }>(
        'INSERT INTO users (name, password_hash) VALUES (:name, :hash) RETURNING id, name',
        { replacements: { name, hash: passwordHash ?? null }, type: QueryTypes.SELECT },
      );
      if (!row) throw new Error('INSERT … RETURNING gave no row');
      return { id: row.id, name: row.name, passwordHash };
    } catch (err) {
      if (err instanceof UniqueConstraintError) throw new AppError('NAME_TAKEN', 'that name is taken');
      throw err;
    }
  }

  async findByName(name: string): Promise<Account | undefined> {
    const [row] = await this.sequelize.query<{ id: number; name: string; password_hash: string | null }>(
      'SELECT id, name, password_hash FROM users WHERE lower(name) = lower(:name) AND external_issuer IS NULL',
      { replacements: { name }, type: QueryTypes.SELECT },
    );
    return row && { id: row.id, name: row.name, passwordHash: row.password_hash ?? undefined };
  }

  /** The local user of an external identity, created (wallet 0) the first time it is seen. */
  async external(issuer: string, subject: string, name: string): Promise<number> {
    // ON CONFLICT DO NOTHING returns no row for an existing identity; the SELECT then finds it.
    const [row] = await this.sequelize.query<{ id: number }>(
      `WITH made AS (
         INSERT INTO users (name, external_issuer, external_subject) VALUES (:name, :issuer, :subject)
         ON CONFLICT (external_issuer, external_subject) WHERE external_issuer IS NOT NULL DO NOTHING RETURNING id
       )
       SELECT id FROM made UNION ALL
       SELECT id FROM users WHERE external_issuer = :issuer AND external_subject = :subject`,
      { replacements: { issuer, subject, name }, type: QueryTypes.SELECT },
    );
    if (!row) throw new Error('external identity neither inserted nor found');
    return row.id;
  }
}
