import { createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
import type * as Altcha from 'altcha-lib/v1' with { 'resolution-mode': 'import' };
import { AppError } from '../../errors';
import type { Clock } from '../../timers/clock';

/** What a waiting room asks of a newcomer (an ALTCHA challenge, PROTOCOL.md "Proof of work at the door"). */
export interface Challenge {
  algorithm: string;
  challenge: string;
  salt: string;
  signature: string;
  maxnumber: number;
}

export interface QueueDoorOptions {
  /** Signs challenges; derived from the server's secret, so every instance verifies every other's. */
  secret: string;
  /** Expected work of one solve (ALTCHA maxnumber). */
  cost: number;
  /** How long a challenge may be solved and spent. */
  ttlMs: number;
  /** Whether joining this concert needs a solved challenge now. */
  challengeOn(concertId: number): boolean | Promise<boolean>;
  /** Most live entries of a concert from one address; 0: no cap. */
  entriesPerIp: number;
  /** With several instances: a solution is spent once across all of them. */
  redis?: Redis;
  prefix: string;
  clock: Clock;
}

// altcha-lib's types are ESM-only; its CommonJS build is what `require` loads.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createChallenge, verifySolution } = require('altcha-lib/v1') as typeof Altcha;

/** An address's record outlives any entry made from it. */
const ADDRESS_TTL_MS = 24 * 3600_000;
const addressKey = (concertId: number, ip: string) => `door:ip:${concertId}:${ip}`;

/**
 * The checks a user passes to get a NEW entry (a rejoin with a live entry
 * passes freely): a solved, unexpired, unspent proof-of-work challenge when
 * the concert asks for one, and a cap on live entries per client address.
 */
export class QueueDoor {
  private readonly hmacKey: string;
  private readonly spentHere = new Map<string, number>();
  /** Users that got an entry, per concert and address: counted against the cap while their entries live. */
  private readonly byAddress = new Map<string, Set<number>>();

  constructor(private readonly options: QueueDoorOptions) {
    this.hmacKey = createHmac('sha256', options.secret).update('queue-door:altcha').digest('base64url');
  }

  async challenge(concertId: number): Promise<Challenge> {
    if (!(await this.options.challengeOn(concertId))) throw new AppError('NOT_FOUND', 'this waiting room needs no challenge');
    const { algorithm, challenge, salt, signature, maxnumber } = await createChallenge({
      hmacKey: this.hmacKey,
      maxNumber: this.options.cost,
      expires: new Date(this.options.clock.now() + this.options.ttlMs),
    });
    return { algorithm, challenge, salt, signature, maxnumber: maxnumber ?? this.options.cost };
  }

  /**
   * Passes a newcomer or throws CHALLENGE_FAILED / RATE_LIMITED. `live(userId)`
   * says whether a user counted at this address still has a live entry.
   */
  async admit(concertId: number, ip: string, solution: string | undefined, live: (userId: number) => Promise<boolean>): Promise<void> {
    if (this.options.entriesPerIp > 0) await this.checkAddress(concertId, ip, live);
    if (await this.options.challengeOn(concertId)) await this.spend(solution);
  }

  /** The user got an entry from this address. */
  async entered(concertId: number, ip: string, userId: number): Promise<void> {
    if (this.options.entriesPerIp <= 0) return;
    const { redis, prefix } = this.options;
    const key = addressKey(concertId, ip);
    if (redis) {
      await redis.multi().sadd(`${prefix}${key}`, userId).pexpire(`${prefix}${key}`, ADDRESS_TTL_MS).exec();
      return;
    }
    const users = this.byAddress.get(key) ?? new Set<number>();
    users.add(userId);
    this.byAddress.set(key, users);
  }

  private async checkAddress(concertId: number, ip: string, live: (userId: number) => Promise<boolean>): Promise<void> {
    const { redis, prefix, entriesPerIp } = this.options;
    const key = addressKey(concertId, ip);
    const users = redis ? (await redis.smembers(`${prefix}${key}`)).map(Number) : [...(this.byAddress.get(key) ?? [])];
    if (users.length < entriesPerIp) return;
    // Entries end on their own (left, paid, expired): look at them only when the address seems full.
    let counted = users.length;
    for (const userId of users) {
      if (await live(userId)) continue;
      counted--;
      if (redis) await redis.srem(`${prefix}${key}`, userId);
      else this.byAddress.get(key)?.delete(userId);
    }
    if (counted >= entriesPerIp) {
      throw new AppError('RATE_LIMITED', 'too many entries in this waiting room from your address', { retryAfterMs: 60_000 }, 60);
    }
  }

  private async spend(solution: string | undefined): Promise<void> {
    const fail = (why: string) => new AppError('CHALLENGE_FAILED', `this waiting room needs a solved challenge: ${why}`);
    if (!solution) throw fail('none was sent');
    // A malformed payload makes verifySolution throw: as wrong as a wrong number.
    const valid = await verifySolution(solution, this.hmacKey, true).catch(() => false);
    if (!valid) throw fail('the solution is wrong or expired');
    const signature = signatureOf(solution);
    if (!(await this.spendOnce(signature))) throw fail('the solution was already used');
  }

  /** True the first time a signature is spent (across instances with Redis). */
  private async spendOnce(signature: string): Promise<boolean> {
    const { redis, prefix, clock } = this.options;
    if (redis) return (await redis.set(`${prefix}door:spent:${signature}`, '1', 'PX', this.options.ttlMs, 'NX')) === 'OK';
    const now = clock.now();
    for (const [key, until] of this.spentHere) if (until <= now) this.spentHere.delete(key);
    if (this.spentHere.has(signature)) return false;
    this.spentHere.set(signature, now + this.options.ttlMs);
    return true;
  }
}

/** What names a challenge (a verified payload parses: verifySolution read it). */
function signatureOf(solution: string): string {
  const payload = JSON.parse(Buffer.from(solution, 'base64').toString('utf8')) as { signature?: unknown };
  return String(payload.signature);
}
