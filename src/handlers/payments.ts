import { AppError, notFound } from '../errors';
import type { DateRooms } from '../rooms/date-rooms';
import type { QueueGate } from '../rooms/queue-gate';
import type { WalletService } from './wallet';
import { defineCommand, type Command } from './command';
import { compile, id, idempotencyKey, object, queueToken } from './schemas';

interface Pay {
  reservationId: number;
  queueToken?: string;
  idempotencyKey?: string;
}
const validatePay = compile<Pay>(object<Pay>({ reservationId: id, queueToken, idempotencyKey }, ['reservationId']));

export interface PaymentDeps {
  rooms: DateRooms;
  gate: QueueGate;
  wallet: WalletService;
}

/**
 * Pay a HELD reservation: the debit, the payment row and HELD → CONFIRMED
 * commit in one transaction inside the date room's mailbox, so a payment and
 * its hold's expiry can never both win. Then the user's queue entry ends (PAID).
 */
export function paymentCommands({ rooms, gate, wallet }: PaymentDeps): Command[] {
  return [
    defineCommand({
      name: 'payment:pay',
      auth: 'user',
      httpStatus: 201,
      validate: validatePay,
      async run({ reservationId, queueToken: token, idempotencyKey: key }: Pay, ctx) {
        const owner = await rooms.repo.findOwner(reservationId);
        if (!owner) throw notFound('reservation');
        if (owner.userId !== ctx.userId) throw new AppError('FORBIDDEN', 'this reservation is another user’s');
        // A replay of a key returns the first answer even after the queue entry ended (PAID).
        const result = await wallet.idempotent(ctx.userId, 'payment:pay', key, { reservationId }, async () => {
          await gate.requireActive(ctx.userId, owner.concertId, token);
          const { reservation, settled } = await rooms.run(owner.dateId, (room) =>
            room.confirm(ctx.userId, reservationId, async (tx, r) => {
              const balance = await wallet.debit(tx, r.userId, r.total, r.id);
              const paymentId = await rooms.repo.insertPayment(tx, r.id, r.userId, r.total, r.at);
              return { balance, payment: { id: paymentId, amount: r.total, at: r.at.toISOString() } };
            }),
          );
          return { payment: settled.payment, reservation, balance: settled.balance };
        });
        await gate.releasePaid(ctx.userId, owner.concertId);
        return result;
      },
    }),
  ];
}
