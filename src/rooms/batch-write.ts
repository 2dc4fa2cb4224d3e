import type { Sequelize, Transaction } from 'sequelize';
import type { ReservationStatus } from '../handlers/events';
import type { ReservationRepository } from '../models/reservation-repository';
import type { Reservation } from './date-state';

/**
 * Everything one group commit writes: status changes as one conditional
 * statement, new holds as one multi-row statement, then any extra statements
 * (money), then the seat map's version — one transaction, one fsync.
 */
export class BatchWrite {
  readonly inserts: Reservation[] = [];
  readonly transitions: { reservation: Reservation; from: ReservationStatus; to: ReservationStatus; at: Date }[] = [];
  readonly extra: ((tx: Transaction) => Promise<void>)[] = [];

  get empty(): boolean {
    return this.inserts.length === 0 && this.transitions.length === 0 && this.extra.length === 0;
  }

  async commit(sequelize: Sequelize, repo: ReservationRepository, dateId: number, concertId: number, version: number, fence?: number): Promise<void> {
    try {
      await sequelize.transaction(async (tx) => {
        // Ends first: a seat freed by a cancel or an expiry and held again in the same
        // batch must have left its old reservation before the new one claims it (the
        // one-live-reservation index checks each statement). A batch never ends a
        // reservation it inserts: ending one needs an id, which only a commit gives.
        await repo.transition(
          tx,
          this.transitions.map((t) => ({ id: t.reservation.id, from: t.from, to: t.to, at: t.at })),
        );
        if (this.inserts.length > 0) {
          const ids = await repo.insertReservations(
            tx,
            dateId,
            concertId,
            this.inserts.map((r) => ({
              userId: r.userId,
              total: r.total,
              expiresAt: r.expiresAt,
              createdAt: r.createdAt,
              seats: r.seats.map((s) => ({ number: s.number, price: s.price })),
            })),
          );
          this.inserts.forEach((r, i) => (r.id = ids[i] as number));
        }
        for (const write of this.extra) await write(tx);
        await repo.setVersion(tx, dateId, version, fence);
      });
    } catch (err) {
      for (const r of this.inserts) r.id = 0;
      throw err;
    }
  }
}
