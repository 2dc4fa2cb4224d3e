import type { HistData } from './hist';
import type { LoadOptions } from './options';
import type { PhaseData, ProcessLoad } from './stats';

/** IPC between the parent (bench/lib/loadtest-run.ts) and its worker processes (bench/lib/worker.ts). */
export interface SaleInit {
  type: 'init';
  role: 'sale';
  index: number;
  url: string;
  runId: string;
  concertId: number;
  dates: { id: number; totalSeats: number }[];
  /** Global buyer indices [from, from + count). */
  from: number;
  count: number;
  totalBuyers: number;
  options: LoadOptions;
}

export interface SocketsInit {
  type: 'init';
  role: 'sockets';
  index: number;
  url: string;
  count: number;
  concurrency: number;
}

export type ToWorker =
  | SaleInit
  | SocketsInit
  | { type: 'start'; t0: number }
  | { type: 'stop' }
  | { type: 'storm'; concertId: number; dateId: number; users: number; seconds: number; perUserIntervalMs: number; watchers: number; seats: number }
  | { type: 'verify' }
  | { type: 'report' }
  | { type: 'close' };

export interface VerifyResult {
  /** date id → seat-status fingerprint → watchers whose map shows it. */
  maps: Record<string, Record<string, number>>;
  brokenSessions: number;
  walletChecked: number;
  walletMismatches: string[];
  reservationsChecked: number;
  reservationMismatches: string[];
}

export type FromWorker =
  | { type: 'ready'; index: number; userIds: number[]; signupErrors: Record<string, number>; signupMs: number }
  | { type: 'progress'; index: number; counts: Record<string, number>; load: ProcessLoad; holdP99?: number }
  | { type: 'phase'; index: number; phase: 'sale' | 'storm'; data: PhaseData; load: { cpuAvgPct: number; cpuPeakPct: number; loopP99PeakMs: number } }
  | { type: 'verified'; index: number; result: VerifyResult }
  | { type: 'sockets-ready'; index: number; connected: number; errors: Record<string, number>; connect: HistData; ms: number }
  | { type: 'sockets-report'; index: number; deliveries: HistData; perBroadcast: Record<number, { at: number; maxRecv: number; n: number }>; load: ProcessLoad }
  | { type: 'error'; index: number; message: string };
