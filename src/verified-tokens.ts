/**
 * Tokens whose signature was already checked, by their exact text, until
 * their own `exp`: a client sends the same queue token with every command,
 * and re-verifying its HMAC each time was a third of the CPU of a status read
 * (bench/cpu.ts). A hit needs the identical string, so a forged or altered
 * token never matches; expiry is still checked on every use. Bounded: past
 * `max` entries the oldest is forgotten (it is simply verified again).
 */
export class VerifiedTokens<T> {
  private readonly entries = new Map<string, { value: T; expSeconds: number }>();

  constructor(private readonly max: number) {}

  /** The value stored with `token`, unless absent or expired at `nowMs` (the rule jsonwebtoken applies: now ≥ exp). */
  get(token: string, nowMs: number): T | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (Math.floor(nowMs / 1000) >= entry.expSeconds) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.value;
  }

  set(token: string, value: T, expSeconds: number): void {
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(token, { value, expSeconds });
  }

  get size(): number {
    return this.entries.size;
  }
}
