import type { Budgets } from '../../handlers/budgets';
import type { Redis } from 'ioredis';
import type { Config } from '../../config';
import type { Logger } from '../../logger';
import type { Database } from '../../models/database';
import { AccountRepository } from '../../models/account-repository';
import { SessionRepository } from '../../models/session-repository';
import { Passwords } from '../../passwords';
import type { Tokens } from '../../tokens';
import { accountCommands } from '../../handlers/accounts';
import type { Authenticator } from '../../handlers/auth';
import type { Command } from '../../handlers/command';
import type { SocketHooks } from '../../handlers/socket';
import { ExternalIdentity } from './external-identity';
import { SessionGuard } from './session-guard';
import { SessionPurge } from './session-purge';

export interface AccountsModuleDeps {
  config: Config;
  log: Logger;
  db: Database;
  tokens: Tokens;
  redis?: Redis;
  logins: Pick<Budgets, 'loginAllowed' | 'loginFailed'>;
}

export interface AccountsModule {
  /** Our access tokens (sessions), or an external provider's. */
  authenticator: Authenticator;
  commands: Command[];
  /** Sockets are tracked by session, so a revocation can disconnect them. */
  hooks: SocketHooks;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Accounts, sessions and the identity of every request; an external provider replaces our tokens. */
export function createAccountsModule({ config, log, db, tokens, redis, logins }: AccountsModuleDeps): AccountsModule {
  const accounts = new AccountRepository(db);
  const sessions = new SessionRepository(db, config.sessionTtlDays);
  const guard = new SessionGuard({ tokens, sessions, log, redis, channel: `${config.redisPrefix}sessions:revoked` });
  const { jwtJwksUrl: jwksUrl, jwtPublicKey: publicKey, jwtIssuer: issuer, jwtAudience: audience } = config;
  const external = (jwksUrl || publicKey) && issuer && audience ? new ExternalIdentity({ jwksUrl, publicKey, issuer, audience }, accounts) : undefined;
  const purge = new SessionPurge({
    sessions,
    log,
    intervalSeconds: config.sessionPurgeIntervalSeconds,
    afterHours: config.sessionPurgeAfterHours,
    batch: config.sessionPurgeBatch,
  });
  const passwords = new Passwords({ cost: config.scryptCost, blockSize: config.scryptBlockSize });
  const authenticator = external ?? guard;
  return {
    authenticator,
    commands: accountCommands({ config, accounts, sessions, passwords, tokens, control: guard, authenticator, external: external !== undefined, logins }),
    hooks: {
      connected: (socket) => guard.track(socket),
      disconnected: (socket) => guard.untrack(socket),
    },
    async start() {
      await guard.start();
      purge.start();
    },
    async close() {
      await purge.stop();
      await guard.close();
    },
  };
}
