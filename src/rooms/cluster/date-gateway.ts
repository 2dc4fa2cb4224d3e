import { AppError, notFound } from '../../errors';
import type { ReservationRepository } from '../../models/reservation-repository';
import type { DateRoom } from '../date/date-room';
import type { DateRoomRegistry } from '../date/date-room-registry';
import { NotOwnerError, type Claim } from '../date/date-leases';
import type { DateOwnership } from './date-ownership';
import { RemoteNotOwnerError, RpcTimeoutError, type RoomRpc } from './room-rpc';
import type { ReplyOf, RoomRequest } from '../date/room-request';
import { FreshReads } from './fresh-reads';
import type { SeatMap } from '../../protocol/events';

export interface Cluster {
  ownership: DateOwnership;
  rpc: RoomRpc;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A busy owner answers within this; longer means it is gone (or too stalled to count on).
const RPC_TIMEOUT_MS = 5000;

/**
 * Where a date command runs: on this instance's room when it owns the date
 * (always, on a single instance), else on the owner's, through the RPC. A
 * forward is retried only when ownership moved (the old owner died or let go),
 * never to an owner that is alive, so no command runs twice.
 */
export class DateGateway {
  private cluster?: Cluster;
  /** A watch storm at a non-owner becomes one database read per date at a time, not one per watcher. */
  private readonly snapshots: FreshReads<number, SeatMap | null>;

  constructor(
    private readonly rooms: DateRoomRegistry,
    repo: ReservationRepository,
  ) {
    this.snapshots = new FreshReads((dateId) => repo.snapshot(dateId));
  }

  joinCluster(cluster: Cluster): void {
    this.cluster = cluster;
  }

  async send<R extends RoomRequest>(req: R): Promise<ReplyOf<R>> {
    const cluster = this.cluster;
    if (!cluster) return this.runLocal(req);
    const deadline = Date.now() + cluster.ownership.leaseMs + RPC_TIMEOUT_MS + 1000;
    // An owner that timed out may have run the command: wait for its lease to pass instead of resending.
    let silent: string | undefined;
    for (;;) {
      let claim: Claim | undefined;
      try {
        claim = await cluster.ownership.acquire(req.dateId);
        if (claim.self) return await this.runLocal(req);
        // Another instance owns the date: a snapshot needs no owner, the committed map is in
        // PostgreSQL with its version, and a watch storm must not become an RPC storm.
        if (req.op === 'snapshot') return (await this.committedSnapshot(req.dateId)) as ReplyOf<R>;
        if (claim.owner !== silent) return (await cluster.rpc.request(claim.owner, req, RPC_TIMEOUT_MS)) as ReplyOf<R>;
      } catch (err) {
        if (err instanceof RpcTimeoutError && claim && !claim.self) silent = claim.owner;
        else if (!(err instanceof NotOwnerError || err instanceof RemoteNotOwnerError)) throw err;
      }
      if (Date.now() > deadline) throw new AppError('INTERNAL', 'the instance that owns this date does not answer; retry shortly');
      cluster.ownership.forget(req.dateId);
      await sleep(100);
    }
  }

  private async committedSnapshot(dateId: number) {
    const map = await this.snapshots.read(dateId);
    if (!map) throw notFound('date');
    return map;
  }

  /** A command another instance forwarded here: this instance runs it, taking the date's lease if it is free. */
  async serveForwarded<R extends RoomRequest>(req: R): Promise<ReplyOf<R>> {
    const ownership = this.cluster?.ownership;
    if (ownership && ownership.fence(req.dateId) === undefined && !(await ownership.acquire(req.dateId, true)).self) throw new NotOwnerError(req.dateId);
    return this.runLocal(req);
  }

  /** Runs a request on this instance's room. */
  runLocal<R extends RoomRequest>(req: R): Promise<ReplyOf<R>> {
    if (this.cluster && this.cluster.ownership.fence(req.dateId) === undefined) return Promise.reject(new NotOwnerError(req.dateId));
    return this.rooms.run(req.dateId, (room) => this.execute(room, req)) as Promise<ReplyOf<R>>;
  }

  private execute(room: DateRoom, req: RoomRequest): Promise<unknown> {
    switch (req.op) {
      case 'snapshot':
        return room.snapshot();
      case 'hold':
        return room.hold(req.userId, req.seatNumbers);
      case 'cancel':
        return room.cancel(req.userId, req.reservationId);
      case 'confirm':
        return room.confirm(req.userId, req.reservationId);
    }
  }
}
