import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { renderSchemaDoc, SCHEMA_DOC_PATH, TABLE_PURPOSE } from '../../scripts/schema-doc';
import { testDatabaseUrl } from '../support/env';

/**
 * docs/schema.md is generated from the migrated schema. This renders it
 * again against the run's database (global setup migrated it) and fails when
 * the committed file differs, so a migration cannot land without its picture.
 */

const FIX = 'npm run docs:schema';

let client: Client;

beforeAll(async () => {
  client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
});

afterAll(async () => {
  await client.end();
});

/** The first lines where two texts part, to show in the failure next to the command that fixes it. */
function firstDifference(expected: string, actual: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  const at = a.findIndex((line, i) => line !== b[i]);
  const i = at === -1 ? Math.min(a.length, b.length) : at;
  return [`line ${i + 1}:`, `  generated: ${a[i] ?? '(end of file)'}`, `  committed: ${b[i] ?? '(end of file)'}`].join('\n');
}

describe('docs/schema.md', () => {
  it('is what the migrated schema renders to', async () => {
    const generated = await renderSchemaDoc(client);
    const committed = readFileSync(SCHEMA_DOC_PATH, 'utf8');
    if (generated !== committed) {
      throw new Error(`docs/schema.md is out of date with the migrations. Fix: run \`${FIX}\` and commit docs/schema.md.\n${firstDifference(generated, committed)}`);
    }
  });

  it('renders the same text twice (sorted, nothing time- or run-dependent)', async () => {
    expect(await renderSchemaDoc(client)).toBe(await renderSchemaDoc(client));
  });

  it('notes the partial unique index that keeps a seat in one live reservation, in the diagram and below it', async () => {
    const text = await renderSchemaDoc(client);
    expect(text).toMatch(/integer seat_number PK, FK "partial unique \(date_id, seat_number\) WHERE live"/);
    expect(text).toContain('- `reservation_seats_one_live`: a seat is in at most one live (HELD or CONFIRMED) reservation');
    expect(text).toContain('CREATE UNIQUE INDEX reservation_seats_one_live ON public.reservation_seats USING btree (date_id, seat_number) WHERE live');
  });

  it('gives every table its sentence, and refuses a table without one', async () => {
    const text = await renderSchemaDoc(client);
    for (const [table, sentence] of Object.entries(TABLE_PURPOSE)) expect(text).toContain(`| \`${table}\` | ${sentence} |`);
    // Inside a transaction that is rolled back: the run's database keeps its schema.
    await client.query('BEGIN');
    try {
      await client.query('CREATE TABLE mystery_table (id serial PRIMARY KEY)');
      await expect(renderSchemaDoc(client)).rejects.toThrow('no sentence for the table mystery_table: add it to TABLE_PURPOSE');
    } finally {
      await client.query('ROLLBACK');
    }
  });
});
