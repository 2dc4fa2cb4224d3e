import { HTTP_STATUS, type ErrorCode } from '../errors';
import type { Command } from './command';
import type { Route } from './http';

/**
 * OpenAPI 3.1 built from the command table at start: ROUTES says where a
 * command is mounted, its ajv schema what it takes, its auth and httpStatus
 * what it needs and answers. Nothing here names a route, so a command added
 * to the table appears without an edit.
 */
export interface ApiInfo {
  title: string;
  version: string;
  description: string;
}

type Schema = Record<string, unknown>;

/** Where each input field of a route comes from, found by running the route's input mapping on markers. */
export interface RouteShape {
  /** field → path parameter name */
  path: Map<string, string>;
  /** field → header name */
  header: Map<string, string>;
  /** field → query parameter name */
  query: Map<string, string>;
  /** The JSON body's fields pass through. */
  body: boolean;
}

const PARAM = 'param\u0000';
const HEADER = 'header\u0000';
const QUERY = 'query\u0000';
const BODY = 'body\u0000';

export function routeShape(route: Route): RouteShape {
  const shape: RouteShape = { path: new Map(), header: new Map(), query: new Map(), body: !route.input };
  if (!route.input) return shape;
  const marker = (prefix: string) => new Proxy({}, { get: (_t, name) => (typeof name === 'string' ? prefix + name : undefined) });
  const input = route.input({
    params: marker(PARAM),
    query: marker(QUERY),
    headers: marker(HEADER),
    body: { [BODY]: true },
  });
  for (const [field, value] of Object.entries(input)) {
    if (field === BODY) shape.body = true;
    else if (typeof value === 'string' && value.startsWith(PARAM)) shape.path.set(field, value.slice(PARAM.length));
    else if (typeof value === 'string' && value.startsWith(HEADER)) shape.header.set(field, value.slice(HEADER.length));
    else if (typeof value === 'string' && value.startsWith(QUERY)) shape.query.set(field, value.slice(QUERY.length));
  }
  return shape;
}

/** The command's input schema as ajv holds it (a copy: the document must not share the validator's object). */
export function inputSchema(command: Command): Schema {
  return structuredClone(command.validate.schema) as Schema;
}

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(HTTP_STATUS) },
        message: { type: 'string' },
        details: { type: 'object', description: 'e.g. `errors: [{path, message}]` for VALIDATION_FAILED' },
      },
    },
  },
} as const;

export function buildOpenApi(info: ApiInfo, routes: readonly Route[], commands: ReadonlyMap<string, Command>): Schema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const command = commands.get(route.command);
    if (!command) throw new Error(`route ${route.method} ${route.path} names the unknown command ${route.command}`);
    const path = route.path.replace(/:([A-Za-z_]\w*)/g, '{$1}');
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(route, command) };
  }
  return {
    openapi: '3.1.0',
    info,
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: { Error: errorSchema },
      securitySchemes: {
        user: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'the token from POST /users' },
        admin: { type: 'http', scheme: 'bearer', description: 'the ADMIN_TOKEN setting' },
      },
    },
  };
}

function operation(route: Route, command: Command): Record<string, unknown> {
  const schema = inputSchema(command);
  const properties = { ...((schema['properties'] ?? {}) as Record<string, Schema>) };
  const required = new Set((schema['required'] ?? []) as string[]);
  const shape = routeShape(route);
  const parameters: Record<string, unknown>[] = [];
  for (const [field, name] of shape.path) {
    parameters.push({ name, in: 'path', required: true, schema: properties[field] ?? { type: 'string' } });
    delete properties[field];
    required.delete(field);
  }
  for (const [field, name] of shape.query) {
    parameters.push({ name, in: 'query', required: required.has(field), schema: properties[field] ?? { type: 'string' } });
    delete properties[field];
    required.delete(field);
  }
  for (const [field, name] of shape.header) {
    // The header wins; a body field of the same name counts when the header is absent.
    parameters.push({ name, in: 'header', required: false, description: `or \`${field}\` in the body`, schema: properties[field] ?? { type: 'string' } });
    required.delete(field);
  }
  const op: Record<string, unknown> = {
    operationId: command.name,
    tags: [route.path.split('/')[1] ?? ''],
    summary: `${command.name}${command.httpOnly ? '' : ' (also a Socket.IO event)'}`,
    parameters,
    security: command.auth === 'none' ? [] : [{ [command.auth]: [] }],
    responses: responses(command),
  };
  const bodyFields = Object.keys(properties);
  if (shape.body && bodyFields.length > 0 && route.method !== 'GET' && route.method !== 'HEAD') {
    const body: Schema = { ...schema, properties };
    if (required.size > 0) body['required'] = [...required];
    else delete body['required'];
    op['requestBody'] = { required: required.size > 0, content: { 'application/json': { schema: body } } };
  }
  return op;
}

function responses(command: Command): Record<string, unknown> {
  const ok = typeof command.httpStatus === 'number' ? String(command.httpStatus) : command.httpStatus ? '2XX' : '200';
  const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
  const out: Record<string, unknown> = {
    [ok]: { description: ok === '2XX' ? 'success (201 when it created something, else 200)' : 'success', content: { 'application/json': {} } },
    400: error('VALIDATION_FAILED: the input does not match its schema'),
  };
  if (command.auth !== 'none') out['401'] = error(`${'UNAUTHORIZED' satisfies ErrorCode}: missing or invalid bearer token`);
  out['default'] = error('any other error code of the protocol, with its HTTP status');
  return out;
}
