import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import type { AppServer } from '../handlers/socket';
import { groups } from '../protocol/groups';
import { eachDrawn, type DrawNews, type TellDrawn } from '../rooms/queue/draw-news';

export interface DrawChannel {
  tell: TellDrawn;
  close(): Promise<void>;
}

/**
 * The opening's draw told across instances with one Redis message: the
 * drawing instance publishes the draw once, and every instance (itself
 * included) pushes each drawn user's `queue:status` to that user's sockets
 * connected to it. Through the socket.io adapter the same pushes were one
 * publish per user — a hundred thousand at an opening. Delivered like the
 * adapter's pushes (Redis pub/sub, at most once).
 */
export function createDrawChannel(deps: { io: AppServer; redis: Redis; prefix: string; log: Logger }): DrawChannel {
  const { io, redis, log } = deps;
  const channel = `${deps.prefix}draw`;
  // No retry limit: through a Redis outage it waits, and re-subscribes when Redis returns.
  const subscriber = redis.duplicate({ enableAutoPipelining: false, maxRetriesPerRequest: null });
  // The app's own connections log an outage; this one reconnects with them.
  subscriber.on('error', () => undefined);
  let closing = false;
  subscriber.subscribe(channel).catch((err: unknown) => {
    if (!closing) log.error({ err }, 'draw channel subscription failed');
  });
  subscriber.on('message', (_channel: string, message: string) => {
    const news = parse(message);
    if (!news) return;
    const rooms = io.of('/').adapter.rooms;
    eachDrawn(news, (userId, status) => {
      const room = groups.user(userId);
      // Only this instance's sockets: the others push to theirs from the same message.
      if (rooms.has(room)) io.local.to(room).emit('queue:status', status);
    });
  });
  return {
    tell(news) {
      redis.publish(channel, JSON.stringify(news)).catch((err: unknown) => log.error({ err, concertId: news.concertId }, 'the draw was not announced'));
    },
    close() {
      // Not quit(): with Redis down it would wait in the offline queue behind the subscription.
      closing = true;
      subscriber.disconnect();
      return Promise.resolve();
    },
  };
}

function parse(message: string): DrawNews | undefined {
  try {
    const news = JSON.parse(message) as Partial<DrawNews>;
    return Array.isArray(news.drawn) && typeof news.concertId === 'number' ? (news as DrawNews) : undefined;
  } catch {
    return undefined;
  }
}
