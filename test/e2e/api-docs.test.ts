import { validate as validateOpenApi } from '@readme/openapi-parser';
import { Parser as AsyncApiParser, DiagnosticSeverity } from '@asyncapi/parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { ROUTES } from '../../src/handlers/http';
import { ADMIN_PUSH_SCHEMAS, PUSH_SCHEMAS } from '../../src/protocol/push-schemas';
import { Buyer, SCREENSHOT_DIR, launchBrowser } from '../support/browser';
import { ask, client, closeClients, record, roundTrip } from '../support/clients';
import { FAST_QUEUE } from '../support/queue';
import { createConcert, http, nextEvent, serverFor, signup, type TestServer } from '../support/server';

/**
 * The generated OpenAPI and AsyncAPI documents: valid by their official
 * parsers, complete against the mounted command table, true to the pushes a
 * real server sends, and browsable at /docs in Chromium.
 */

let server: TestServer;
serverFor({ env: { ...FAST_QUEUE } }, (s) => (server = s));
afterEach(closeClients);

type Doc = Record<string, any>;
// Each document is fetched once, before the parsers' seconds of CPU: after such a block, a pooled
// keep-alive connection the server has meanwhile closed would answer the next fetch with ECONNRESET.
const docs = new Map<string, Doc>();
beforeAll(async () => {
  for (const path of ['/openapi.json', '/asyncapi.json']) {
    const res = await http(server, 'GET', path);
    expect(res.status).toBe(200);
    docs.set(path, res.body);
  }
});
const fetchDoc = async (path: string): Promise<Doc> => structuredClone(docs.get(path)!);

describe('/openapi.json', () => {
  it('passes the OpenAPI 3.1 parser and has every route of the table, with its command, auth and parameters', async () => {
    const doc = await fetchDoc('/openapi.json');
    const result = await validateOpenApi(structuredClone(doc) as Parameters<typeof validateOpenApi>[0]);
    expect(result.valid ? { errors: [], warnings: result.warnings } : result).toEqual({ errors: [], warnings: [] });
    expect(doc['openapi']).toBe('3.1.0');
    for (const route of ROUTES) {
      const path = route.path.replace(/:(\w+)/g, '{$1}');
      const op = doc['paths'][path]?.[route.method.toLowerCase()];
      expect({ route: `${route.method} ${route.path}`, operationId: op?.operationId }).toEqual({ route: `${route.method} ${route.path}`, operationId: route.command });
      const command = server.app.commands.get(route.command)!;
      expect(op.security).toEqual(command.auth === 'none' ? [] : [{ [command.auth]: [] }]);
      for (const param of route.path.match(/:\w+/g) ?? []) {
        expect(op.parameters).toContainEqual(expect.objectContaining({ name: param.slice(1), in: 'path', required: true }));
      }
    }
    const operations = Object.values(doc['paths'] as Record<string, Doc>).flatMap((p) => Object.keys(p));
    expect(operations).toHaveLength(ROUTES.length);
  });

  it('documents body fields, header-or-body fields and the success status from the command itself', async () => {
    const doc = await fetchDoc('/openapi.json');
    const hold = doc['paths']['/reservations']['post'];
    expect(hold.responses['201']).toBeDefined();
    expect(hold.parameters).toContainEqual(expect.objectContaining({ name: 'queue-token', in: 'header', required: false }));
    const body = hold.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['dateId', 'seatNumbers']));
    expect(body.required ?? []).not.toContain('queueToken');
    const seats = doc['paths']['/dates/{id}/seats']['get'];
    expect(seats.parameters).toContainEqual(expect.objectContaining({ name: 'id', in: 'path', schema: expect.objectContaining({ type: 'integer' }) }));
    expect(seats.requestBody).toBeUndefined();
    expect(doc['paths']['/queue/token']['post'].responses['2XX']).toBeDefined();
  });
});

describe('/asyncapi.json', () => {
  it('describes the pushes a real server sends: join, watch, hold, pay, validated field by field', async () => {
    const doc = await fetchDoc('/asyncapi.json');
    const messages = Object.values(doc['channels']['socket']['messages'] as Record<string, Doc>);
    // Closed objects for the check: a field the server sends but the document omits fails too.
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const check = (event: string, payload: unknown) => {
      const schema = messages.find((m) => m['name'] === event)?.['payload'] as object;
      const valid = ajv.validate(closed(schema) as object, payload);
      expect({ event, errors: valid ? null : ajv.errors }).toEqual({ event, errors: null });
    };
    const concert = await createConcert(server, { price: 1000 });
    const dateId = concert.dates[0]!.id;
    const user = await signup(server);
    const socket = await client(server, user.token);
    const seen = Object.fromEntries(Object.keys(PUSH_SCHEMAS).map((event) => [event, record(socket, event)]));
    const admitted = nextEvent(socket, 'queue:admitted');
    const joined = await ask(socket, 'queue:join', { concertId: concert.id });
    if (joined.data.status !== 'ACTIVE') await admitted;
    const queueToken = joined.data.token as string;
    expect(await ask(socket, 'seats:watch', { dateId, queueToken })).toMatchObject({ ok: true });
    const changed = nextEvent(socket, 'seats:changed');
    const held = await ask(socket, 'seats:hold', { dateId, seatNumbers: [1], queueToken });
    expect(held).toMatchObject({ ok: true });
    await changed;
    await ask(socket, 'wallet:charge', { amount: 1000 });
    const expired = nextEvent(socket, 'queue:expired');
    expect(await ask(socket, 'payment:pay', { reservationId: held.data.id, queueToken })).toMatchObject({ ok: true });
    await expired;
    await roundTrip(socket);
    for (const event of ['queue:admitted', 'seats:changed', 'reservation:updated', 'queue:expired']) expect({ event, n: seen[event]!.length > 0 }).toEqual({ event, n: true });
    for (const [event, payloads] of Object.entries(seen)) for (const payload of payloads) check(event, payload);
  });

  it('passes the AsyncAPI 3 parser and has every socket command and every push', async () => {
    const doc = await fetchDoc('/asyncapi.json');
    const { document, diagnostics } = await new AsyncApiParser().parse(doc as Parameters<AsyncApiParser['parse']>[0]);
    // Errors and warnings both: an info or hint (e.g. "add a description") is style, not shape.
    expect(diagnostics.filter((d) => (d.severity as number) <= (DiagnosticSeverity.Warning as number)).map((d) => `${d.path.join('/')}: ${d.message}`)).toEqual([]);
    expect(document).toBeDefined();
    const documented = document!.messages().all().map((m) => m.name());
    const socketCommands = [...server.app.commands.values()].filter((c) => !c.httpOnly).map((c) => c.name);
    expect(socketCommands.length).toBeGreaterThan(5);
    expect(documented).toEqual(expect.arrayContaining([...socketCommands, ...Object.keys(PUSH_SCHEMAS), ...Object.keys(ADMIN_PUSH_SCHEMAS)]));
    const httpOnly = [...server.app.commands.values()].filter((c) => c.httpOnly).map((c) => c.name);
    for (const name of httpOnly) expect(documented).not.toContain(name);
    // An event may be both a command and a push (queue:status): look for each direction on its own.
    const operations = document!.operations().all().map((op) => `${op.action()} ${op.messages().all()[0]?.name() ?? ''}`);
    for (const name of socketCommands) expect(operations).toContain(`receive ${name}`);
    for (const name of [...Object.keys(PUSH_SCHEMAS), ...Object.keys(ADMIN_PUSH_SCHEMAS)]) expect(operations).toContain(`send ${name}`);
    // The operator's pushes travel on a channel of their own: the /admin namespace.
    const adminChannel = document!.channels().all().find((c) => c.address() === '/admin');
    expect(adminChannel?.messages().all().map((m) => m.name())).toEqual(Object.keys(ADMIN_PUSH_SCHEMAS));
  });
});

/** The schema with `additionalProperties: false` on every object that lists its properties. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Doc = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, closed(v)]));
  if (out['properties'] && out['additionalProperties'] === undefined) out['additionalProperties'] = false;
  return out;
}

describe('/docs in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows every REST operation in Swagger UI, offline, and every socket event on /docs/events', async () => {
    const page = await Buyer.open(browser, `${server.url}/docs`, 'reader', { viewport: { width: 1200, height: 900 } });
    const requests: string[] = [];
    page.page.on('request', (r) => requests.push(r.url()));
    await page.page.locator('.opblock').first().waitFor();
    expect(await page.page.locator('.opblock').count()).toBe(ROUTES.length);
    await page.screenshot('docs-openapi.png');
    await page.page.getByRole('link', { name: 'Socket.IO events (AsyncAPI)' }).click();
    await page.page.locator('section[data-event="queue:tick"]').waitFor();
    const events = await page.page.locator('section[data-event]').evaluateAll((els) => els.map((e) => e.getAttribute('data-event')));
    const socketCommands = [...server.app.commands.values()].filter((c) => !c.httpOnly).map((c) => c.name);
    expect(events.sort()).toEqual([...socketCommands, ...Object.keys(PUSH_SCHEMAS), ...Object.keys(ADMIN_PUSH_SCHEMAS)].sort());
    // The first screen only: the whole list is a long page.
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.page.screenshot({ path: path.join(SCREENSHOT_DIR, 'docs-events.png') });
    expect(requests.filter((url) => !url.startsWith(server.url))).toEqual([]);
    expect(page.errors).toEqual([]);
    await page.close();
  });
});
