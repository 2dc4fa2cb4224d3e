import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  /** CPU/memory cost N, a power of two. */
  cost: number;
  /** Block size r: memory is 128·N·r bytes per hash. */
  blockSize: number;
}

const KEY_BYTES = 32;

function derive(password: string, salt: Buffer, N: number, r: number): Promise<Buffer> {
  const options: ScryptOptions = { N, r, p: 1, maxmem: 256 * N * r };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/**
 * Salted scrypt hashes, stored as `scrypt$N$r$salt$key` so parameters can be
 * raised later without invalidating old hashes. scrypt runs on libuv's thread
 * pool, so a login does not block the event loop for its ~50 ms.
 *
 * verify() of an account without a hash (unknown name, passwordless account)
 * still derives a key against a dummy hash of the same cost: a wrong name and
 * a wrong password answer in about the same time.
 */
export class Passwords {
  private dummy?: Promise<string>;

  constructor(private readonly params: ScryptParams) {}

  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const { cost, blockSize } = this.params;
    const key = await derive(password, salt, cost, blockSize);
    return ['scrypt', cost, blockSize, salt.toString('base64url'), key.toString('base64url')].join('$');
  }

  async verify(password: string, stored: string | undefined): Promise<boolean> {
    const against = stored ?? (await (this.dummy ??= this.hash('no account has this password')));
    const [scheme, n, r, salt, key] = against.split('$');
    if (scheme !== 'scrypt' || !n || !r || salt === undefined || key === undefined) return false;
    const expected = Buffer.from(key, 'base64url');
    const actual = await derive(password, Buffer.from(salt, 'base64url'), Number(n), Number(r));
    return stored !== undefined && actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}
