import Ajv, { type JSONSchemaType } from 'ajv';
import addFormats from 'ajv-formats';

/** One Ajv instance; every schema is compiled once, at load. Payloads are `unknown` until they pass. */
export const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv, ['date-time']);

export const MAX_ID = 2_147_483_647;
export const id = { type: 'integer', minimum: 1, maximum: MAX_ID } as const;
export const queueToken = { type: 'string', minLength: 1, maxLength: 4096 } as const;
export const idempotencyKey = { type: 'string', minLength: 1, maxLength: 200 } as const;

export function object<T>(properties: Record<string, object>, required: string[] = []): JSONSchemaType<T> {
  return { type: 'object', properties, required, additionalProperties: false } as unknown as JSONSchemaType<T>;
}

export const compile = <T>(schema: JSONSchemaType<T>) => ajv.compile<T>(schema);

export type Empty = Record<string, never>;
export const validateEmpty = compile<Empty>(object<Empty>({}));
