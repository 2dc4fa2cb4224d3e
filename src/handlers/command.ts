import type { ValidateFunction } from 'ajv';
import type { Socket } from 'socket.io';
import { AppError, toErrorBody, type ErrorBody } from '../errors';
import type { Dependencies, Dependency } from '../dependencies';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Budgets } from './budgets';
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from '../protocol/events';

export type AppSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** Who may run a command: anyone, a user (JWT), or the operator (ADMIN_TOKEN). */
export type Auth = 'none' | 'user' | 'admin';

export interface CommandContext {
  /** The authenticated user; 0 for `none` and `admin` commands. */
  userId: number;
  /** The client's address (see ClientIp): what per-IP budgets count. */
  ip: string;
  /** The session of our own access token (absent with an external provider's token, or none/admin). */
  sessionId?: string;
  /** Present when the command came over Socket.IO. */
  socket?: AppSocket;
  /** Puts the socket in a push group; resolves once pushes to it reach this socket from any instance. */
  join?: (room: string) => Promise<void>;
}

/**
 * A command is declared once — schema, auth, run — and mounted on both
 * transports, so REST and Socket.IO share validation, authorization and
 * error mapping.
 */
export interface Command<I = unknown, O = unknown> {
  /** The Socket.IO event name; also the metrics label. */
  name: string;
  auth: Auth;
  validate: ValidateFunction<I>;
  run(input: I, ctx: CommandContext): Promise<O>;
  /** What goes on the wire, when the result carries more than the reply (e.g. "created"). */
  reply?(output: O): unknown;
  /** HTTP status on success; 200 unless set. */
  httpStatus?: number | ((output: O) => number);
  /** Not mounted as a socket event (HTTP-only, e.g. admin). */
  httpOnly?: boolean;
  /**
   * What pays for the command: a user command spends its user's budget; `ip`
   * (routes without a user: signup, login) spends the client IP's.
   */
  budget?: 'ip';
}

export function defineCommand<I, O>(command: Command<I, O>): Command {
  return command as unknown as Command;
}

export type Outcome = { ok: true; data: unknown; status: number } | { ok: false; error: ErrorBody; retryAfter?: number };

/** What a command cannot run without; it answers UNAVAILABLE at once while one of them is down. */
export interface DependencyGuard {
  dependencies: Dependencies;
  needs(command: Command): readonly Dependency[];
}

export class CommandRunner {
  /** Per command, resolved on its first run: what it needs, and the labels of its successes (no allocation per call). */
  private readonly known = new Map<Command, { needs: readonly Dependency[]; ok: { command: string; outcome: string } }>();

  constructor(
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly guards: { budgets?: Budgets; dependencies?: DependencyGuard } = {},
  ) {}

  /** Validate, run, map any error once. Never throws. */
  async execute(command: Command, input: unknown, ctx: CommandContext): Promise<Outcome> {
    const started = performance.now();
    const { budgets, dependencies: guard } = this.guards;
    const known = this.known.get(command) ?? this.learn(command);
    let outcome: Outcome;
    try {
      // Spent before validation: junk costs a budget like anything else. A known user pays even for a
      // public command (the catalog on a socket): the budget is per user across every command.
      if (budgets && (command.auth === 'user' || ctx.userId > 0)) await budgets.user(ctx.userId);
      else if (budgets && command.budget === 'ip') await budgets.ip(ctx.ip);
      if (!command.validate(input)) throw validationError(command.validate);
      guard?.dependencies.require(known.needs);
      let output: unknown;
      try {
        output = await command.run(input, ctx);
      } catch (err) {
        throw guard ? guard.dependencies.explain(err, known.needs) : err;
      }
      const status = typeof command.httpStatus === 'function' ? command.httpStatus(output) : (command.httpStatus ?? 200);
      outcome = { ok: true, data: command.reply ? command.reply(output) : output, status };
    } catch (err) {
      // The child logger only where something is logged: not on every successful command.
      outcome = failure(err, this.log.child({ command: command.name, userId: ctx.userId || undefined }), this.metrics);
    }
    const labels = outcome.ok ? known.ok : { command: command.name, outcome: outcome.error.code };
    this.metrics.commandDuration.observe(labels, (performance.now() - started) / 1000);
    return outcome;
  }

  private learn(command: Command) {
    const known = { needs: this.guards.dependencies?.needs(command) ?? [], ok: { command: command.name, outcome: 'ok' } };
    this.known.set(command, known);
    return known;
  }
}

/**
 * Rejections are the client's doing and an attacker controls their rate: counted in
 * `tix_rejected_total` and logged at debug only. Errors stay at error with their cause.
 */
export function failure(err: unknown, log: Logger, metrics?: Pick<Metrics, 'rejected'>): Outcome & { ok: false } {
  if (err instanceof AppError) {
    metrics?.rejected.inc({ code: err.code });
    log.debug({ code: err.code }, err.message);
    return { ok: false, error: toErrorBody(err), retryAfter: err.retryAfter };
  }
  log.error({ err }, 'command failed');
  return { ok: false, error: toErrorBody(err) };
}

/** PROTOCOL.md: at most this many failing paths, whatever the input. */
export const MAX_VALIDATION_ERRORS = 10;
// Paths and property names come from the input: cut so that ten of them stay well under 4 KB.
const MAX_PATH_CHARS = 120;
const clip = (s: string) => (s.length > MAX_PATH_CHARS ? `${s.slice(0, MAX_PATH_CHARS)}…` : s);

export function validationError(validate: ValidateFunction): AppError {
  const all = validate.errors ?? [];
  const errors = all.slice(0, MAX_VALIDATION_ERRORS).map((e) => ({
    path: clip(e.instancePath === '' ? (e.params['missingProperty'] ? `/${String(e.params['missingProperty'])}` : '/') : e.instancePath),
    message: clip(e.keyword === 'additionalProperties' ? `unexpected property ${String(e.params['additionalProperty'])}` : (e.message ?? 'invalid')),
  }));
  const omitted = all.length - errors.length;
  return new AppError('VALIDATION_FAILED', 'request does not match its schema', omitted > 0 ? { errors, omitted } : { errors });
}
