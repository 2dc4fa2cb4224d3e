import { groups } from '../protocol/groups';
import type { Push } from '../rooms/push';
import type { AppServer } from './socket';

/** Push over socket.io rooms: one emit per group, fanned out by the adapter (Redis when configured). */
export function createSocketPush(io: AppServer): Push {
  return {
    toUser: (userId, event, ...args) => io.to(groups.user(userId)).emit(event, ...args),
    toDate: (dateId, event, ...args) => io.to(groups.date(dateId)).emit(event, ...args),
    toQueue: (concertId, event, ...args) => io.to(groups.queue(concertId)).emit(event, ...args),
  };
}
