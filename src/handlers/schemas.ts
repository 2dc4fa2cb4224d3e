import Ajv, { type JSONSchemaType } from 'ajv';
import addFormats from 'ajv-formats';

/** One Ajv instance; every schema is compiled once, at load. Payloads are `unknown` until they pass. */
export const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv, ['date-time']);

/**
 * Any positive integer is a well-formed id; one past the database's range is
 * simply unknown (NOT_FOUND), which the repositories answer without a query.
 */
export const id = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;
export const queueToken = { type: 'string', minLength: 1, maxLength: 4096 } as const;
export const idempotencyKey = { type: 'string', minLength: 1, maxLength: 200 } as const;

export function object<T>(properties: Record<string, object>, required: string[] = []): JSONSchemaType<T> {
  return { type: 'object', properties, required, additionalProperties: false } as unknown as JSONSchemaType<T>;
}

export const compile = <T>(schema: JSONSchemaType<T>) => ajv.compile<T>(schema);

export type Empty = Record<string, never>;
export const validateEmpty = compile<Empty>(object<Empty>({}));
