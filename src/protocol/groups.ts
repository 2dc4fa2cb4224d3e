/**
 * Push groups: a socket.io room per user (all of a user's sockets), per date
 * (its watchers) and per concert (everyone waiting). One broadcast to a group
 * is encoded once and reaches its members on every instance.
 */
export const groups = {
  user: (userId: number) => `user:${userId}`,
  date: (dateId: number) => `date:${dateId}`,
  queue: (concertId: number) => `queue:${concertId}`,
};
