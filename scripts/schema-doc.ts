/**
 * Writes docs/schema.md: a Mermaid erDiagram of the migrated database, read
 * from information_schema and pg_catalog, so the picture is the schema and
 * not someone's memory of it. A jest test (test/unit/schema-doc.test.ts)
 * renders it again against the test run's database and fails when the
 * committed file differs.
 *
 *   npm run docs:schema                      scratch database on the local PostgreSQL
 *   npm run docs:schema -- postgres://u@h/db the same, on that server (any database there)
 *
 * Without an argument the server is TEST_PG_ADMIN_URL's, else 127.0.0.1:5432 as
 * user postgres: the one the tests use.
 *
 * The script creates a scratch database on the server, migrates it with the
 * server's own migrations, writes the file and drops the database again.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { openDatabase } from '../src/models/database';

/** One sentence per table. A table missing here fails the script: a new table needs its sentence. */
export const TABLE_PURPOSE: Record<string, string> = {
  concert_sales: 'A concert’s sale settings (opening time, pace, cap, active TTL, pause, proof of work); a concert without a row uses the environment’s defaults (migration 007).',
  sale_audit: 'Every change of a sale setting: when, which concert, which field, the value before and after (GET /admin/audit).',
  sessions: 'A signed-in session: its user, the hash of its current refresh token, created / last used / expires, and whether it was revoked (migration 005).',
  spent_refresh_tokens: 'Refresh tokens already rotated away: presenting one again is taken as theft and revokes its session.',
  concert_dates: 'One performance of a concert: its seat map’s version (grows by one per committed change set) and the fencing token of the instance that owns its date room.',
  concerts: 'Something on sale; has dates.',
  idempotency_keys: 'An Idempotency-Key per user with the first answer stored (or pending while a payment runs), so a retried charge or payment is applied once.',
  queue_entries: 'The waiting room of the single-instance default (no Redis), one row per entry: its ticket (or negative pre-queue key until the opening’s draw, kept in pre_key after it), user, status, ACTIVE deadline, end reason and time, and whether it still counts in the line; written by group commit, read back on start (migration 008).',
  queue_draws: 'An opening draw of the single-instance default, one row: the pre-queue keys in drawn order (int32s in a bytea) from its first ticket on. Written in one statement before anyone is told; the entries’ rows move to their tickets in the background, a rebuild applies the draw to those not yet moved, and the row goes once all have (migration 010).',
  queue_rooms: 'A waiting room’s counters (last ticket and pre-queue key, tick, admission rate, paused) and the process that owns it: a starting instance rebuilds the rooms whose owner died.',
  payments: 'One row per paid reservation (the UNIQUE reservation_id makes a second payment impossible), written in the date room’s commit with the debit.',
  reservation_seats: 'The seats of a reservation; `live` is true while the reservation is HELD or CONFIRMED, and a partial unique index keeps each seat in one live reservation.',
  reservations: 'One user’s hold on 1..N seats of one date: HELD → CONFIRMED (paid) / CANCELED / EXPIRED.',
  seats: 'The seat map of a date: number, grade and price. Its status is derived from the live reservation_seats row, if any.',
  users: 'An account with its wallet balance (integer won, never negative).',
  wallet_ledger: 'Every balance change (CHARGE, PAYMENT, REFUND) with the balance after it: the ledger sums to the balances.',
};

/** What each stored function does. A function missing here fails the script. */
export const FUNCTION_PURPOSE: Record<string, string> = {
  tix_charge: 'wallet:charge in one statement: the Idempotency-Key claim, the balance change, its CHARGE ledger row and the stored answer (migration 004).',
  tix_charge_many: 'wallet:charge group-committed: the charges that arrive together, each through tix_charge in a block of its own (a refused one rolls back alone), in one transaction (migration 009).',
  tix_commit_batch: 'A date room’s group commit in one statement: fence check, status changes, new holds, payments and refunds (migration 003).',
};

/** Why each partial unique index exists. One missing here fails the script. */
export const PARTIAL_UNIQUE_PURPOSE: Record<string, string> = {
  users_external_identity: 'one local user per identity of an external provider (issuer, subject), for the users created on first sight of a provider’s token.',
  users_name_lower: 'account names are unique whatever their letter case (NAME_TAKEN), for the accounts that have a name to log in with.',
  reservation_seats_one_live: 'a seat is in at most one live (HELD or CONFIRMED) reservation, whatever writes: the last line of defence against selling a seat twice, even with two date rooms for one date (a split brain).',
};

/** Bookkeeping, not domain: umzug's record of applied migrations. */
const LEFT_OUT = ['SequelizeMeta'];

interface Column {
  table: string;
  name: string;
  type: string;
  nullable: boolean;
}

interface ForeignKey {
  name: string;
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
}

interface IndexRow {
  table: string;
  name: string;
  definition: string;
  unique: boolean;
  partial: boolean;
  primary: boolean;
  columns: string[];
  predicate: string | null;
}

/** The Markdown of docs/schema.md for the database `client` is connected to. Deterministic: everything sorted. */
export async function renderSchemaDoc(client: Client): Promise<string> {
  const tables = (await rows<{ table_name: string }>(client, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name COLLATE "C"`))
    .map((r) => r.table_name)
    .filter((t) => !LEFT_OUT.includes(t));
  const columns = (await rows<{ table_name: string; column_name: string; type: string; is_nullable: string }>(
    client,
    `SELECT c.table_name, c.column_name, format_type(a.atttypid, a.atttypmod) AS type, c.is_nullable
       FROM information_schema.columns c
       JOIN pg_attribute a ON a.attrelid = format('public.%I', c.table_name)::regclass AND a.attname = c.column_name
      WHERE c.table_schema = 'public' ORDER BY c.table_name COLLATE "C", c.ordinal_position`,
  )).map((r): Column => ({ table: r.table_name, name: r.column_name, type: r.type, nullable: r.is_nullable === 'YES' }));
  const keys = await rows<{ table_name: string; kind: string; name: string; columns: string[]; ref_table: string | null; ref_columns: string[] | null }>(
    client,
    `SELECT con.conrelid::regclass::text AS table_name, con.contype AS kind, con.conname AS name,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns,
            con.confrelid::regclass::text AS ref_table,
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i) AS ref_columns
       FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
      WHERE n.nspname = 'public' AND con.contype IN ('p', 'u', 'f')
      ORDER BY con.conrelid::regclass::text COLLATE "C", con.conname COLLATE "C"`,
  );
  const indexes = (await rows<{ tablename: string; indexname: string; indexdef: string; unique: boolean; partial: boolean; primary: boolean; columns: string[]; predicate: string | null }>(
    client,
    `SELECT i.tablename, i.indexname, i.indexdef, x.indisunique AS unique, x.indpred IS NOT NULL AS partial, x.indisprimary AS primary,
            ARRAY(SELECT a.attname::text FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n ORDER BY k.o) AS columns,
            pg_get_expr(x.indpred, x.indrelid) AS predicate
       FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = i.schemaname
       JOIN pg_index x ON x.indexrelid = c.oid
      WHERE i.schemaname = 'public' ORDER BY i.tablename COLLATE "C", i.indexname COLLATE "C"`,
  ))
    .filter((r) => !LEFT_OUT.includes(r.tablename))
    .map((r): IndexRow => ({ table: r.tablename, name: r.indexname, definition: r.indexdef, unique: r.unique, partial: r.partial, primary: r.primary, columns: r.columns, predicate: r.predicate }));
  const checks = await rows<{ table_name: string; name: string; definition: string }>(
    client,
    `SELECT con.conrelid::regclass::text AS table_name, con.conname AS name, pg_get_constraintdef(con.oid) AS definition
       FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
      WHERE n.nspname = 'public' AND con.contype = 'c'
      ORDER BY con.conrelid::regclass::text COLLATE "C", con.conname COLLATE "C"`,
  );
  const functions = (await rows<{ name: string; args: string }>(
    client,
    `SELECT p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'public' ORDER BY p.proname COLLATE "C", pg_get_function_identity_arguments(p.oid) COLLATE "C"`,
  ));

  requireDescribed('table', tables, TABLE_PURPOSE, 'TABLE_PURPOSE');
  requireDescribed('function', functions.map((f) => f.name), FUNCTION_PURPOSE, 'FUNCTION_PURPOSE');
  const partialUnique = indexes.filter((i) => i.unique && i.partial);
  requireDescribed('partial unique index', partialUnique.map((i) => i.name), PARTIAL_UNIQUE_PURPOSE, 'PARTIAL_UNIQUE_PURPOSE');

  const inTables = (t: string) => tables.includes(t);
  const primary = new Map(keys.filter((k) => k.kind === 'p').map((k) => [k.table_name, k.columns]));
  const uniques = keys.filter((k) => k.kind === 'u').map((k) => ({ table: k.table_name, columns: k.columns }));
  const foreign = keys
    .filter((k) => k.kind === 'f' && inTables(k.table_name))
    .map((k): ForeignKey => ({ name: k.name, table: k.table_name, columns: k.columns, refTable: k.ref_table ?? '', refColumns: k.ref_columns ?? [] }));

  const out: string[] = [
    '# Database schema',
    '',
    '<!-- Generated by scripts/schema-doc.ts from the migrated schema: do not edit by hand. Run `npm run docs:schema`. -->',
    '',
    'The tables, columns, keys and constraints of the PostgreSQL database, read',
    'from `information_schema` and `pg_catalog` after every migration in',
    '`src/models/migrations/` ran. `npm test` renders this page again against its',
    'own migrated database and fails when it differs, so a migration lands with',
    'its picture. How commands use these tables: [flows](flows.md).',
    '',
    '```mermaid',
    'erDiagram',
  ];
  for (const table of tables) {
    out.push(`  ${table} {`);
    const pk = primary.get(table) ?? [];
    const fkColumns = new Set(foreign.filter((f) => f.table === table).flatMap((f) => f.columns));
    const uniqueColumns = new Set(uniques.filter((u) => u.table === table && u.columns.length === 1).flatMap((u) => u.columns));
    for (const c of columns.filter((col) => col.table === table)) {
      const marks = [pk.includes(c.name) ? 'PK' : '', fkColumns.has(c.name) ? 'FK' : '', uniqueColumns.has(c.name) ? 'UK' : ''].filter(Boolean);
      // The partial unique index is part of the picture: it is what keeps a seat sold once.
      const partial = partialUnique.filter((i) => i.table === table && i.columns.includes(c.name)).map((i) => `partial unique (${i.columns.join(', ')}) WHERE ${i.predicate ?? ''}`);
      const notes = [c.nullable ? 'nullable' : '', ...partial].filter(Boolean);
      const comment = notes.length > 0 ? ` "${notes.join('; ').replace(/"/g, "'")}"` : '';
      out.push(`    ${erType(c.type)} ${c.name}${marks.length > 0 ? ` ${marks.join(', ')}` : ''}${comment}`);
    }
    out.push('  }');
  }
  for (const f of [...foreign].sort((a, b) => cmp(a.refTable, b.refTable) || cmp(a.table, b.table) || cmp(a.name, b.name))) {
    const nullable = f.columns.some((name) => columns.find((c) => c.table === f.table && c.name === name)?.nullable);
    const oneToOne = uniques.some((u) => u.table === f.table && sameColumns(u.columns, f.columns)) || sameColumns(primary.get(f.table) ?? [], f.columns);
    const parent = nullable ? 'o|' : '||';
    const child = oneToOne ? '|o' : 'o{';
    out.push(`  ${f.refTable} ${parent}--${child} ${f.table} : "${f.columns.join(', ')}"`);
  }
  out.push('```', '', '## Tables', '', '| table | what it is for |', '| --- | --- |');
  for (const table of tables) out.push(`| \`${table}\` | ${TABLE_PURPOSE[table] ?? ''} |`);
  out.push('', '## Keys', '', '| table | key | columns | references |', '| --- | --- | --- | --- |');
  for (const table of tables) {
    const pk = primary.get(table);
    if (pk) out.push(`| \`${table}\` | primary | ${pk.join(', ')} | |`);
    for (const u of uniques.filter((x) => x.table === table)) out.push(`| \`${table}\` | unique | ${u.columns.join(', ')} | |`);
    for (const f of foreign.filter((x) => x.table === table)) out.push(`| \`${table}\` | foreign | ${f.columns.join(', ')} | \`${f.refTable}\` (${f.refColumns.join(', ')}) |`);
  }
  out.push('', '## Partial unique indexes', '');
  for (const i of partialUnique) out.push(`- \`${i.name}\`: ${PARTIAL_UNIQUE_PURPOSE[i.name] ?? ''}`, '', `  \`${i.definition}\``, '');
  out.push('## Checks', '', '| table | constraint | definition |', '| --- | --- | --- |');
  for (const c of checks.filter((x) => inTables(x.table_name))) out.push(`| \`${c.table_name}\` | \`${c.name}\` | \`${c.definition}\` |`);
  out.push('', '## Other indexes', '', '| index | definition |', '| --- | --- |');
  for (const i of indexes.filter((x) => !x.primary && !(x.unique && x.partial))) out.push(`| \`${i.name}\` | \`${i.definition}\` |`);
  out.push('', '## Stored functions', '', '| function | what it does |', '| --- | --- |');
  for (const f of functions) out.push(`| \`${f.name}(${f.args})\` | ${FUNCTION_PURPOSE[f.name] ?? ''} |`);
  out.push('', `Left out: ${LEFT_OUT.map((t) => `\`${t}\``).join(', ')} (umzug’s record of applied migrations).`, '');
  return out.join('\n');
}

/** Mermaid attribute types are one word: `timestamp with time zone` → `timestamptz`, `character varying(255)` → `varchar(255)`. */
function erType(type: string): string {
  const short: Record<string, string> = { 'timestamp with time zone': 'timestamptz', 'timestamp without time zone': 'timestamp', 'double precision': 'float8' };
  const named = short[type] ?? type.replace(/^character varying/, 'varchar').replace(/^character/, 'char');
  // erDiagram attribute types allow letters, digits, parentheses, brackets and a few marks; spaces and commas are not among them.
  return named.replace(/\s+/g, '_').replace(/,/g, '_');
}

function requireDescribed(kind: string, names: string[], map: Record<string, string>, mapName: string): void {
  const missing = names.filter((n) => !(n in map));
  if (missing.length > 0) {
    throw new Error(`scripts/schema-doc.ts: no sentence for the ${kind}${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: add ${missing.length > 1 ? 'them' : 'it'} to ${mapName}`);
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sameColumns = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join() === [...b].sort().join();

async function rows<T>(client: Client, sql: string): Promise<T[]> {
  return (await client.query(sql)).rows as T[];
}

export const SCHEMA_DOC_PATH = path.resolve(__dirname, '..', 'docs', 'schema.md');
const DEFAULT_SERVER = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Scratch database on `serverUrl`, migrated, rendered, dropped. */
async function main(serverUrl: string): Promise<void> {
  const name = `tix_schema_doc_${Date.now()}_${process.pid}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const db = await openDatabase(url.toString(), 2);
    await db.close();
    const client = new Client({ connectionString: url.toString() });
    await client.connect();
    try {
      writeFileSync(SCHEMA_DOC_PATH, await renderSchemaDoc(client));
    } finally {
      await client.end();
    }
    process.stdout.write(`wrote ${path.relative(process.cwd(), SCHEMA_DOC_PATH)}\n`);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.end();
  }
}

if (require.main === module) {
  main(process.argv[2] ?? process.env['TEST_PG_ADMIN_URL'] ?? DEFAULT_SERVER).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
