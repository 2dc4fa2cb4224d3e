import { AppError, notFound } from '../errors';
import type { DateRooms } from '../rooms/date-rooms';
import type { Settle } from '../rooms/date-room';
import type { QueueGate } from '../rooms/queue-gate';
import { rooms as groups } from '../rooms/push';
import type { WalletService } from './wallet';
import { defineCommand, type Command, type CommandContext } from './command';
import { compile, id, object, queueToken, validateEmpty } from './schemas';

interface DateRef {
  dateId: number;
  queueToken?: string;
}
interface Hold extends DateRef {
  seatNumbers: number[];
}
interface ReservationRef {
  reservationId: number;
}

const validateDateRef = compile<DateRef>(object<DateRef>({ dateId: id, queueToken }, ['dateId']));
const validateUnwatch = compile<{ dateId: number }>(object<{ dateId: number }>({ dateId: id }, ['dateId']));
const validateHold = compile<Hold>(
  object<Hold>(
    {
      dateId: id,
      queueToken,
      seatNumbers: { type: 'array', minItems: 1, maxItems: 100, uniqueItems: true, items: { type: 'integer', minimum: 1, maximum: 100_000 } },
    },
    ['dateId', 'seatNumbers'],
  ),
);
export const validateReservationRef = compile<ReservationRef>(object<ReservationRef>({ reservationId: id }, ['reservationId']));

export interface SeatCommandDeps {
  rooms: DateRooms;
  gate: QueueGate;
  wallet: WalletService;
}

/** Seat map, holds, cancel, and the user's reservations: every change goes through the date's room. */
export function seatCommands({ rooms, gate, wallet }: SeatCommandDeps): Command[] {
  const snapshot = (userId: number, { dateId, queueToken: token }: DateRef, ctx?: CommandContext) =>
    rooms.run(dateId, async (room) => {
      await gate.requireActive(userId, room.concertId, token);
      // Join before the snapshot: every delta after the snapshot's version reaches the socket.
      if (ctx?.socket) await ctx.socket.join(groups.date(dateId));
      return room.snapshot();
    });
  const refund: Settle<number> = (tx, r) => wallet.refund(tx, r.userId, r.total, r.id);

  return [
    defineCommand({
      name: 'seats:watch',
      auth: 'user',
      validate: validateDateRef,
      run: (input: DateRef, ctx) => snapshot(ctx.userId, input, ctx),
    }),
    defineCommand({
      name: 'seats:map',
      auth: 'user',
      httpOnly: true,
      validate: validateDateRef,
      run: (input: DateRef, ctx) => snapshot(ctx.userId, input),
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
      run: ({ dateId, seatNumbers, queueToken: token }: Hold, ctx) =>
        rooms.run(dateId, async (room) => {
          await gate.requireActive(ctx.userId, room.concertId, token);
          return room.hold(ctx.userId, seatNumbers);
        }),
    }),
    defineCommand({
      name: 'reservation:cancel',
      auth: 'user',
      validate: validateReservationRef,
      async run({ reservationId }: ReservationRef, ctx) {
        const owner = await rooms.repo.findOwner(reservationId);
        if (!owner) throw notFound('reservation');
        if (owner.userId !== ctx.userId) throw new AppError('FORBIDDEN', 'this reservation is another user’s');
        const canceled = await rooms.run(owner.dateId, (room) => room.cancel(ctx.userId, reservationId, refund));
        // Already CANCELED or EXPIRED: cancel is idempotent and answers the reservation as it is.
        return canceled ?? (await rooms.repo.find(reservationId));
      },
    }),
    defineCommand({
      name: 'reservations:mine',
      auth: 'user',
      validate: validateEmpty,
      run: async (_input, ctx) => ({ reservations: await rooms.repo.listForUser(ctx.userId) }),
    }),
  ];
}
