import { createHash } from 'node:crypto';

export interface Challenge {
  algorithm: string;
  challenge: string;
  salt: string;
  signature: string;
  maxnumber: number;
}

/** Solves an ALTCHA challenge by brute force (what a browser does in a worker) and returns the base64 payload. */
export function solve(c: Challenge, offset = 0): string {
  for (let n = 0; n <= c.maxnumber; n++) {
    if (createHash('sha256').update(`${c.salt}${n}`).digest('hex') === c.challenge) {
      return Buffer.from(JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: n + offset, salt: c.salt, signature: c.signature })).toString('base64');
    }
  }
  throw new Error('challenge has no solution below maxnumber');
}
