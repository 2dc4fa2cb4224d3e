import { notFound } from '../errors';
import type { DateGateway } from '../rooms/cluster/date-gateway';
import type { QueueGate } from '../rooms/queue/queue-gate';
import type { ReservationOwners } from '../models/reservation-owners';
import type { WalletService } from './wallet';
import { defineCommand, type Command } from './command';
import { compile, id, idempotencyKey, object, queueToken, type Validated } from './schemas';

const validatePay = compile(object({ reservationId: id, queueToken, idempotencyKey }, ['reservationId']));
type Pay = Validated<typeof validatePay>;

export interface PaymentDeps {
  gateway: DateGateway;
  gate: QueueGate;
  wallet: WalletService;
  owners: ReservationOwners;
}

/**
 * Pay a HELD reservation: the debit, the payment row and HELD → CONFIRMED
 * commit in one transaction inside the date room's mailbox, so a payment and
 * its hold's expiry can never both win. Then the user's queue entry ends (PAID).
 */
export function paymentCommands({ gateway, gate, wallet, owners }: PaymentDeps): Command[] {
  return [
    defineCommand({
      name: 'payment:pay',
      auth: 'user',
      httpStatus: 201,
      validate: validatePay,
      async run({ reservationId, queueToken: token, idempotencyKey: key }: Pay, ctx) {
        const owner = await owners.find(reservationId);
        // Another user's reservation answers exactly like a missing one: existence is not revealed.
        if (!owner || owner.userId !== ctx.userId) throw notFound('reservation');
        let ending: Promise<void> | undefined;
        // A replay of a key returns the first answer even after the queue entry ended (PAID).
        const confirm = async () => {
          await gate.requireActive(ctx.userId, owner.concertId, token);
          const paid = await gateway.send({ op: 'confirm', dateId: owner.dateId, userId: ctx.userId, reservationId });
          // The entry ends while the key's answer is stored: two writes side by side, not one after the other.
          ending = gate.releasePaid(ctx.userId, owner.concertId);
          ending.catch(() => undefined);
          return paid;
        };
        // The room commits the payment in its own transaction: no connection is held here meanwhile.
        const result = key === undefined ? await confirm() : await wallet.runOnce(ctx.userId, 'payment:pay', key, { reservationId }, confirm);
        // Answered once the entry has ended: the user's next read of it says PAID.
        await (ending ?? gate.releasePaid(ctx.userId, owner.concertId));
        return result;
      },
    }),
  ];
}
