import type { ReservationView, SeatMap } from '../../protocol/events';

/**
 * A date-room command as data, so it can run on the local room or travel to
 * the instance that owns the date. The money moved by confirm and refund is
 * written by the owner's room, in the commit that changes the reservation.
 */
export type RoomRequest =
  | { op: 'snapshot'; dateId: number }
  | { op: 'hold'; dateId: number; userId: number; seatNumbers: number[] }
  | { op: 'cancel'; dateId: number; userId: number; reservationId: number }
  | { op: 'confirm'; dateId: number; userId: number; reservationId: number };

export interface PaymentResult {
  payment: { id: number; amount: number; at: string };
  reservation: ReservationView;
  balance: number;
}

export interface RoomReplies {
  snapshot: SeatMap;
  hold: ReservationView;
  /** null: the reservation had already ended. */
  cancel: ReservationView | null;
  confirm: PaymentResult;
}

export type ReplyOf<R extends RoomRequest> = RoomReplies[R['op']];
