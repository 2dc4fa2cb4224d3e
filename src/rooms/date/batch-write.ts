import type { ReservationStatus } from '../../protocol/events';
import type { BatchInput, MoneyMove } from '../../models/reservation-repository';
import type { DateRoomStore } from './date-room-store';
import type { Reservation } from './date-state';

/**
 * Everything one group commit writes, sent as one statement: status changes,
 * new holds, money, and the seat map's version — one round trip, one fsync.
 */
export class BatchWrite {
  readonly inserts: Reservation[] = [];
  readonly transitions: { reservation: Reservation; from: ReservationStatus; to: ReservationStatus; at: Date }[] = [];
  /** `moved` hears the balance after, and the payment's id, once the batch committed. */
  readonly money: { move: MoneyMove; moved(balance: number, paymentId: number | null): void }[] = [];

  get empty(): boolean {
    return this.inserts.length === 0 && this.transitions.length === 0 && this.money.length === 0;
  }

  async commit(store: Pick<DateRoomStore, 'commitBatch'>, target: Pick<BatchInput, 'dateId' | 'concertId' | 'version' | 'fence'>): Promise<void> {
    // A batch never ends a reservation it inserts: ending one needs an id, which only a commit gives.
    const result = await store.commitBatch({
      dateId: target.dateId,
      concertId: target.concertId,
      version: target.version,
      fence: target.fence,
      transitions: this.transitions.map((t) => ({ id: t.reservation.id, prev: t.from, status: t.to, at: t.at })),
      inserts: this.inserts.map((r) => ({
        userId: r.userId,
        total: r.total,
        expiresAt: r.expiresAt,
        createdAt: r.createdAt,
        seats: r.seats.map((s) => ({ number: s.number, price: s.price })),
      })),
      money: this.money.map((m) => m.move),
    });
    this.inserts.forEach((r, i) => (r.id = result.ids[i] as number));
    this.money.forEach((m, i) => {
      const done = result.money[i] as { balance: number; paymentId: number | null };
      m.moved(done.balance, done.paymentId);
    });
  }
}
