import type { Config } from '../config';
import { AppError } from '../errors';
import type { AccountRepository } from '../models/account-repository';
import type { IssuedSession, SessionRepository } from '../models/session-repository';
import type { Passwords } from '../passwords';
import type { Tokens } from '../tokens';
import type { Authenticator, SessionControl } from './auth';
import type { Budgets } from './budgets';
import { defineCommand, type Command } from './command';
import { compile, object, type Validated } from './schemas';

// No control, format (bidi overrides, zero-width) or line/paragraph separator characters, and not blank.
const name = { type: 'string', minLength: 1, maxLength: 100, pattern: '^(?=.*\\S)[^\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}]+$' } as const;
const password = { type: 'string', minLength: 8, maxLength: 200 } as const;
const validateSignup = compile(object({ name, password }, ['name']));
// A login names no policy: whatever does not match an account is the same 401.
const validateLogin = compile(object({ name: { type: 'string', minLength: 1, maxLength: 100 }, password: { type: 'string', minLength: 1, maxLength: 200 } }, ['name', 'password']));
const validateRefresh = compile(object({ refreshToken: { type: 'string', minLength: 1, maxLength: 200 } }, ['refreshToken']));
const validateToken = compile(object({ token: { type: 'string', minLength: 1, maxLength: 4096 } }, ['token']));
const validateNothing = compile(object({}));

export interface AccountDeps {
  config: Config;
  accounts: AccountRepository;
  sessions: SessionRepository;
  passwords: Passwords;
  tokens: Tokens;
  control: SessionControl;
  /** Whoever checks access tokens: our sessions, or the external provider. */
  authenticator: Authenticator;
  /** An external identity provider issues the tokens: no signup, login or refresh here. */
  external: boolean;
  /** Failed logins per name: guessing one password stays slow however many addresses try. */
  logins: Pick<Budgets, 'loginAllowed' | 'loginFailed'>;
}

const unauthorized = () => new AppError('UNAUTHORIZED', 'wrong name or password');

/** Signup, login, refresh, logout (HTTP) and auth:refresh (socket). */
export function accountCommands(deps: AccountDeps): Command[] {
  const { config, accounts, sessions, passwords, tokens, control } = deps;
  const ownAccountsOnly = (what: string) => {
    if (deps.external) throw new AppError('FORBIDDEN', `${what} is off: an external identity provider issues the tokens`);
  };
  const pair = (s: IssuedSession) => {
    control.issued(s);
    return { token: tokens.signAccess(s), refreshToken: s.refreshToken };
  };

  return [
    defineCommand({
      name: 'users:create',
      auth: 'none',
      budget: 'ip',
      httpOnly: true,
      httpStatus: 201,
      validate: validateSignup,
      async run(input: Validated<typeof validateSignup>) {
        ownAccountsOnly('signup');
        if (!config.allowSignup) throw new AppError('FORBIDDEN', 'signup is turned off');
        if (input.password === undefined && !config.allowPasswordlessSignup) {
          throw new AppError('VALIDATION_FAILED', 'request does not match its schema', { errors: [{ path: '/password', message: 'must have required property' }] });
        }
        const hash = input.password === undefined ? undefined : await passwords.hash(input.password);
        const user = await accounts.create(input.name.trim(), hash);
        return { user: { id: user.id, name: user.name }, ...pair(await sessions.open(user.id)) };
      },
    }),
    defineCommand({
      name: 'sessions:create',
      auth: 'none',
      budget: 'ip',
      httpOnly: true,
      validate: validateLogin,
      async run(input: Validated<typeof validateLogin>) {
        ownAccountsOnly('login');
        await deps.logins.loginAllowed(input.name);
        const user = await accounts.findByName(input.name.trim());
        // Unknown name, passwordless account or wrong password: one scrypt each, the same 401.
        if (!(await passwords.verify(input.password, user?.passwordHash)) || !user) {
          await deps.logins.loginFailed(input.name);
          throw unauthorized();
        }
        return { user: { id: user.id, name: user.name }, ...pair(await sessions.open(user.id)) };
      },
    }),
    defineCommand({
      name: 'sessions:refresh',
      auth: 'none',
      budget: 'ip',
      httpOnly: true,
      validate: validateRefresh,
      async run({ refreshToken }: Validated<typeof validateRefresh>) {
        ownAccountsOnly('refresh');
        const rotation = await sessions.rotate(refreshToken);
        if ('ok' in rotation) return pair(rotation.ok);
        if ('reused' in rotation) {
          await control.revoked(rotation.reused);
          throw new AppError('UNAUTHORIZED', 'refresh token already used: the session is revoked');
        }
        throw new AppError('UNAUTHORIZED', 'unknown, expired or revoked refresh token');
      },
    }),
    defineCommand({
      name: 'sessions:logout',
      auth: 'user',
      httpOnly: true,
      validate: validateNothing,
      async run(_input: unknown, ctx) {
        if (!ctx.sessionId) throw new AppError('FORBIDDEN', 'an external identity provider’s token has no session here');
        await sessions.revoke(ctx.sessionId);
        await control.revoked(ctx.sessionId);
        return {};
      },
    }),
    defineCommand({
      name: 'auth:refresh',
      auth: 'user',
      validate: validateToken,
      async run({ token }: Validated<typeof validateToken>, ctx) {
        if (!ctx.socket) throw new AppError('NOT_FOUND', 'auth:refresh is a socket event');
        const identity = await deps.authenticator.authenticate(token);
        if (identity.userId !== ctx.userId) throw new AppError('UNAUTHORIZED', 'the token names another user');
        control.rebind(ctx.socket, identity);
        return {};
      },
    }),
  ];
}
