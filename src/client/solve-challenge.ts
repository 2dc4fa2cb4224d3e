import { createHash } from 'node:crypto';
import type { QueueChallenge } from '../protocol/commands';

export type { QueueChallenge };

/**
 * For Node clients (load generators, tests): finds the number by brute force,
 * as a browser does in a worker, and returns the base64 `solution` that
 * queue:join takes. `offset` spoils the answer on purpose (for tests).
 */
export function solveChallenge(c: QueueChallenge, offset = 0): string {
  for (let n = 0; n <= c.maxnumber; n++) {
    if (createHash('sha256').update(`${c.salt}${n}`).digest('hex') === c.challenge) {
      const payload = { algorithm: c.algorithm, challenge: c.challenge, number: n + offset, salt: c.salt, signature: c.signature };
      return Buffer.from(JSON.stringify(payload)).toString('base64');
    }
  }
  throw new Error('the challenge has no solution up to maxnumber');
}
