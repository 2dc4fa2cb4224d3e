import { notFound } from '../errors';
import type { DateGateway } from '../rooms/cluster/date-gateway';
import type { QueueGate } from '../rooms/queue/queue-gate';
import { groups } from '../protocol/groups';
import type { SeatMap } from '../protocol/events';
import type { ReservationRepository } from '../models/reservation-repository';
import type { ReservationOwners } from '../models/reservation-owners';
import { defineCommand, type Command, type CommandContext } from './command';
import { compile, id, object, queueToken, validateEmpty, type Validated } from './schemas';
import { encodedOnce } from './encoded-json';

const validateDateRef = compile(object({ dateId: id, queueToken }, ['dateId']));
type DateRef = Validated<typeof validateDateRef>;
const validateUnwatch = compile(object({ dateId: id }, ['dateId']));
const validateHold = compile(
  object(
    {
      dateId: id,
      queueToken,
      seatNumbers: { type: 'array', minItems: 1, maxItems: 100, uniqueItems: true, items: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
    },
    ['dateId', 'seatNumbers'],
  ),
);
export const validateReservationRef = compile(object({ reservationId: id }, ['reservationId']));
type ReservationRef = Validated<typeof validateReservationRef>;

export interface SeatCommandDeps {
  gateway: DateGateway;
  gate: QueueGate;
  repo: ReservationRepository;
  owners: ReservationOwners;
  /** The concert of a date; NOT_FOUND for an unknown date. */
  concertOf: (dateId: number) => Promise<number>;
}

/** Seat map, holds, cancel, and the user's reservations: every change goes through the date's room. */
export function seatCommands({ gateway, gate, repo, owners, concertOf }: SeatCommandDeps): Command[] {
  const snapshot = async (userId: number, { dateId, queueToken: token }: DateRef, ctx?: CommandContext) => {
    await gate.requireActive(userId, await concertOf(dateId), token);
    // Join before the snapshot: every delta after the snapshot's version reaches the socket.
    await ctx?.join?.(groups.date(dateId));
    return gateway.send({ op: 'snapshot', dateId });
  };

  return [
    defineCommand({
      name: 'seats:watch',
      auth: 'user',
      validate: validateDateRef,
      run: (input: DateRef, ctx) => snapshot(ctx.userId, input, ctx),
      // A room answers the same map object until its next commit: encoded once per version, not per reader.
      reply: (map: SeatMap) => encodedOnce(map),
    }),
    defineCommand({
      name: 'seats:map',
      auth: 'user',
      httpOnly: true,
      validate: validateDateRef,
      run: (input: DateRef, ctx) => snapshot(ctx.userId, input),
      reply: (map: SeatMap) => encodedOnce(map),
    }),
    defineCommand({
      name: 'seats:unwatch',
      auth: 'user',
      validate: validateUnwatch,
      async run({ dateId }: { dateId: number }, ctx) {
        if (ctx.socket) await ctx.socket.leave(groups.date(dateId));
        return {};
      },
    }),
    defineCommand({
      name: 'seats:hold',
      auth: 'user',
      httpStatus: 201,
      validate: validateHold,
      async run({ dateId, seatNumbers, queueToken: token }, ctx) {
        await gate.requireActive(ctx.userId, await concertOf(dateId), token);
        const held = await gateway.send({ op: 'hold', dateId, userId: ctx.userId, seatNumbers });
        owners.remember(held.id, { userId: ctx.userId, dateId: held.dateId, concertId: held.concertId });
        return held;
      },
    }),
    defineCommand({
      name: 'reservation:cancel',
      auth: 'user',
      validate: validateReservationRef,
      async run({ reservationId }: ReservationRef, ctx) {
        const owner = await owners.find(reservationId);
        // Another user's reservation answers exactly like a missing one: existence is not revealed.
        if (!owner || owner.userId !== ctx.userId) throw notFound('reservation');
        const canceled = await gateway.send({ op: 'cancel', dateId: owner.dateId, userId: ctx.userId, reservationId });
        // Already CANCELED or EXPIRED: cancel is idempotent and answers the reservation as it is.
        return canceled ?? (await repo.find(reservationId));
      },
    }),
    defineCommand({
      name: 'reservations:mine',
      auth: 'user',
      validate: validateEmpty,
      run: async (_input, ctx) => ({ reservations: await repo.listForUser(ctx.userId) }),
    }),
  ];
}
