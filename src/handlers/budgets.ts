import type { Redis } from 'ioredis';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../errors';

export interface BudgetOptions {
  /** Commands per second per user, across transports (bursts of twice that). */
  perUserPerSecond: number;
  /** Requests per minute per client IP on routes that run without a user. */
  perIpPerMinute: number;
  /** Shared by every instance when set; else this process only. */
  redis?: Redis;
  prefix: string;
}

/** The budget a key came back from, for a refused attempt. */
export type BudgetName = 'user' | 'ip' | 'login';

/**
 * Budgets per user and per client IP (rate-limiter-flexible). With Redis the
 * counts are shared by every instance; if Redis stops answering, each
 * instance falls back to counting alone (an insurance limiter) instead of
 * refusing everyone or letting everything through.
 */
export class Budgets {
  private readonly perUser: BurstyRateLimiter;
  private readonly perIp: RateLimiterAbstract;
  private readonly failedLogins: RateLimiterAbstract;

  constructor(options: BudgetOptions) {
    const make = (keyPrefix: string, points: number, duration: number): RateLimiterAbstract => {
      const insuranceLimiter = new RateLimiterMemory({ keyPrefix, points, duration });
      // rejectIfRedisNotReady: with Redis down the insurance answers at once, not after ioredis's retries.
      return options.redis
        ? new RateLimiterRedis({ storeClient: options.redis, keyPrefix: `${options.prefix}${keyPrefix}`, points, duration, insuranceLimiter, rejectIfRedisNotReady: true })
        : insuranceLimiter;
    };
    const rate = options.perUserPerSecond;
    // A second's rate, plus a second reserve of the same size that refills over ten seconds: bursts of
    // twice the rate pass, a sustained flood is held near the rate.
    this.perUser = new BurstyRateLimiter(make('budget:user', rate, 1), make('budget:user:burst', rate, 10));
    this.perIp = make('budget:ip', options.perIpPerMinute, 60);
    this.failedLogins = make('budget:login', FAILED_LOGINS, FAILED_LOGINS_WINDOW_S);
  }

  /** Before checking a password: RATE_LIMITED while the name has used up its failed attempts. */
  async loginAllowed(name: string): Promise<void> {
    const seen = await this.failedLogins.get(loginKey(name));
    if (seen && seen.consumedPoints >= FAILED_LOGINS) throw rateLimited(seen.msBeforeNext);
  }

  /** A wrong password (or an unknown name) for `name`: one of its failed attempts is spent. */
  async loginFailed(name: string): Promise<void> {
    await this.failedLogins.consume(loginKey(name)).catch((err: unknown) => {
      if (!(err instanceof RateLimiterRes)) throw err;
    });
  }

  user(userId: number): Promise<void> {
    return spend(this.perUser.consume(userId));
  }

  ip(address: string): Promise<void> {
    return spend(this.perIp.consume(address));
  }
}

/** Failed logins of one name, however many addresses try: guessing one password stays slow. */
const FAILED_LOGINS = 10;
const FAILED_LOGINS_WINDOW_S = 15 * 60;
const loginKey = (name: string) => name.trim().toLowerCase();

/** Resolves when the budget had room; RATE_LIMITED with the wait otherwise. */
export async function spend(attempt: Promise<RateLimiterRes>): Promise<void> {
  try {
    await attempt;
  } catch (err) {
    if (err instanceof RateLimiterRes) throw rateLimited(err.msBeforeNext);
    throw err;
  }
}

export function rateLimited(retryAfterMs: number): AppError {
  const ms = Math.max(1, Math.ceil(retryAfterMs));
  return new AppError('RATE_LIMITED', 'too many requests; slow down', { retryAfterMs: ms }, Math.max(1, Math.ceil(ms / 1000)));
}
