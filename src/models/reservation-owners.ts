import type { ReservationRepository } from './reservation-repository';

export interface ReservationOwner {
  userId: number;
  dateId: number;
  concertId: number;
}

/**
 * Whose a reservation is, and on which date, never changes: remembered from
 * hold replies and first reads, so pay and cancel route without a query on
 * the main pool (the pool a sale's reads queue on). Bounded; the oldest go first.
 */
export class ReservationOwners {
  private readonly known = new Map<number, ReservationOwner>();

  constructor(
    private readonly repo: Pick<ReservationRepository, 'findOwner'>,
    private readonly max = 200_000,
  ) {}

  async find(reservationId: number): Promise<ReservationOwner | null> {
    const known = this.known.get(reservationId);
    if (known) return known;
    const owner = await this.repo.findOwner(reservationId);
    if (owner) this.remember(reservationId, owner);
    return owner;
  }

  remember(reservationId: number, owner: ReservationOwner): void {
    if (this.known.size >= this.max && !this.known.has(reservationId)) {
      const oldest = this.known.keys().next();
      if (!oldest.done) this.known.delete(oldest.value);
    }
    this.known.set(reservationId, owner);
  }

  get size(): number {
    return this.known.size;
  }
}
