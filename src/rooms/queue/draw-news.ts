import type { QueueStatus, Sale } from '../../protocol/events';
import type { DrawResult } from './queue-store';

/** The opening's draw as every drawn user must hear it: each one's `queue:status` follows from it. */
export interface DrawNews {
  concertId: number;
  tick: number;
  waiting: number;
  secondsPerPosition: number;
  opensAt: string;
  paused: boolean;
  /** userId, ticket, position of each drawn user, flat: a hundred thousand objects would weigh more. */
  drawn: number[];
}

/**
 * Tells every drawn user their ticket and position. One implementation per
 * deployment: on one instance a push per user; with Redis one published
 * message, from which each instance pushes to its own sockets (a hundred
 * thousand pushes through the adapter were a hundred thousand publishes).
 */
export type TellDrawn = (news: DrawNews) => void;

export function drawNews(concertId: number, r: DrawResult, sale: Sale): DrawNews {
  const drawn = new Array<number>(3 * r.drawn.length);
  r.drawn.forEach((d, i) => {
    drawn[3 * i] = d.userId;
    drawn[3 * i + 1] = d.ticket;
    drawn[3 * i + 2] = d.position;
  });
  return { concertId, tick: r.tick, waiting: r.waiting, secondsPerPosition: r.secondsPerPosition, opensAt: sale.opensAt, paused: sale.paused, drawn };
}

/** Each drawn user's status, in ticket order. */
export function eachDrawn(news: DrawNews, tell: (userId: number, status: QueueStatus) => void): void {
  const { concertId, tick, waiting, secondsPerPosition, opensAt, paused, drawn } = news;
  for (let i = 0; i + 2 < drawn.length; i += 3) {
    const position = drawn[i + 2] ?? 0;
    tell(drawn[i] ?? 0, {
      concertId,
      status: 'WAITING',
      ticket: drawn[i + 1] ?? 0,
      opensAt,
      paused,
      tick,
      position,
      waiting,
      etaSeconds: paused ? null : Math.ceil(position * secondsPerPosition),
    });
  }
}
