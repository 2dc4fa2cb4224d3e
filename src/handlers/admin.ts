import type { Sale, SaleStats } from '../protocol/events';
import type { AuditEntry } from '../models/sale-repository';
import type { CreatedDate, NewConcert, NewDate } from '../models/catalog-repository';
import { notFound } from '../errors';
import { defineCommand, type Command } from './command';
import { compile, id, object, validateEmpty, type Validated } from './schemas';

export interface AdminConcert {
  id: number;
  title: string;
  venue: string;
  sale: Sale;
}

/** What the operator's commands need: the sale module implements it. */
export interface AdminService {
  createConcert(input: NewConcert & { sale?: Partial<Sale> }): Promise<{ concert: AdminConcert & { dates: CreatedDate[] } }>;
  listConcerts(): Promise<(AdminConcert & { stats: SaleStats })[]>;
  getConcert(concertId: number): Promise<(AdminConcert & { dates: CreatedDate[]; stats: SaleStats }) | undefined>;
  updateSale(concertId: number, patch: Partial<Sale>): Promise<Sale | undefined>;
  addDate(concertId: number, date: NewDate): Promise<CreatedDate | undefined>;
  audit(concertId: number | undefined, limit: number): Promise<AuditEntry[]>;
}

const text = { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } as const;
const newDate = object(
  {
    startsAt: { type: 'string', format: 'date-time' },
    seats: object(
      {
        count: { type: 'integer', minimum: 1, maximum: 100_000 },
        price: { type: 'integer', minimum: 1, maximum: 100_000_000 },
        grade: { type: 'string', minLength: 1, maxLength: 20 },
      },
      ['count', 'price'],
    ),
  },
  ['startsAt', 'seats'],
);
const sale = object({
  opensAt: { type: 'string', format: 'date-time' },
  admitPerTick: { type: 'integer', minimum: 1, maximum: 100_000 },
  maxActive: { type: 'integer', minimum: 1, maximum: 10_000_000 },
  activeTtlSeconds: { type: 'integer', minimum: 1, maximum: 86_400 },
  paused: { type: 'boolean' },
  challenge: { type: 'string', enum: ['off', 'pow'] },
});

const validateNewConcert = compile(
  object({ title: text, venue: text, dates: { type: 'array', minItems: 1, maxItems: 100, items: newDate }, sale }, ['title', 'venue', 'dates']),
);
const validateConcertRef = compile(object({ concertId: id }, ['concertId']));
const validateSalePatch = compile(object({ concertId: id, ...sale.properties }, ['concertId']));
type SalePatch = Validated<typeof validateSalePatch>;
const validateNewDate = compile(object({ concertId: id, ...newDate.properties }, ['concertId', 'startsAt', 'seats']));
type NewDateInput = Validated<typeof validateNewDate>;
// Query strings arrive as text: digits only, turned into numbers by the route.
const validateAudit = compile(object({ concertId: id, limit: { type: 'integer', minimum: 1, maximum: 1000 } }));
type AuditQuery = Validated<typeof validateAudit>;

/** The operator API (PROTOCOL.md "Sale settings, pre-queue and the operator"): HTTP only, ADMIN_TOKEN. */
export function adminCommands(admin: AdminService): Command[] {
  const common = { auth: 'admin', httpOnly: true } as const;
  return [
    defineCommand({
      ...common,
      name: 'admin:concerts:create',
      httpStatus: 201,
      validate: validateNewConcert,
      run: (input: Validated<typeof validateNewConcert>) => admin.createConcert(input),
    }),
    defineCommand({
      ...common,
      name: 'admin:concerts:list',
      validate: validateEmpty,
      run: async () => ({ concerts: await admin.listConcerts() }),
    }),
    defineCommand({
      ...common,
      name: 'admin:concert:get',
      validate: validateConcertRef,
      async run({ concertId }: Validated<typeof validateConcertRef>) {
        const concert = await admin.getConcert(concertId);
        if (!concert) throw notFound('concert');
        return { concert };
      },
    }),
    defineCommand({
      ...common,
      name: 'admin:sale:update',
      validate: validateSalePatch,
      async run({ concertId, ...patch }: SalePatch) {
        const updated = await admin.updateSale(concertId, patch);
        if (!updated) throw notFound('concert');
        return { sale: updated };
      },
    }),
    defineCommand({
      ...common,
      name: 'admin:dates:create',
      httpStatus: 201,
      validate: validateNewDate,
      async run({ concertId, ...date }: NewDateInput) {
        const created = await admin.addDate(concertId, date);
        if (!created) throw notFound('concert');
        return { date: created };
      },
    }),
    defineCommand({
      ...common,
      name: 'admin:audit',
      validate: validateAudit,
      run: async ({ concertId, limit }: AuditQuery) => ({ entries: await admin.audit(concertId, limit ?? 100) }),
    }),
  ];
}
