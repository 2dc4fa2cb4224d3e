import Ajv, { type AnySchema, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';

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

/** A closed object: a property not listed is a validation failure. */
export function object<const P extends Record<string, JSONSchema>, const R extends readonly (keyof P & string)[] = readonly []>(properties: P, required?: R) {
  return { type: 'object', properties, required: (required ?? []) as R, additionalProperties: false } as const;
}

/** The validated type is derived from the schema (json-schema-to-ts), so the two cannot drift. */
export const compile = <const S extends JSONSchema, T = FromSchema<S>>(schema: S): ValidateFunction<T> => ajv.compile(schema as AnySchema) as ValidateFunction<T>;

/** What a validator lets through. */
export type Validated<V> = V extends ValidateFunction<infer T> ? T : never;

export const validateEmpty = compile(object({}));
export type Empty = Validated<typeof validateEmpty>;
