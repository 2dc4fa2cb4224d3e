/**
 * What the seat and payment commands need from the waiting room. The waiting
 * room implements it; the date room and payments only call it.
 */
export interface QueueGate {
  /**
   * Resolves when `queueToken` names an ACTIVE entry of this user for this
   * concert; rejects with QUEUE_TOKEN_INVALID (missing, forged, expired,
   * another user's or concert's) or QUEUE_NOT_ACTIVE (still WAITING).
   * Counts as activity of the user (idle timeout).
   */
  requireActive(userId: number, concertId: number, queueToken: string | undefined): Promise<void>;
  /** Ends the user's entry at once with reason PAID (`queue:expired`); the slot goes to the next waiter. */
  releasePaid(userId: number, concertId: number): Promise<void>;
  /** Seats of the concert changed (held, freed, sold): re-evaluate `queue:soldout`. */
  seatsChanged(concertId: number): void;
}
