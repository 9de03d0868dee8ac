/**
 * Schema validation with TypeBox's compiled checks. Query strings and path parameters are
 * converted strictly before the check: `count=1.5` or `count=5abc` stays a string and fails
 * as "must be integer" instead of being rounded into something the user did not ask for.
 * Bodies are checked as sent, without any coercion.
 */
import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';

interface JsonSchemaLike {
  type?: string | string[];
  properties?: Record<string, JsonSchemaLike>;
  items?: JsonSchemaLike;
  anyOf?: JsonSchemaLike[];
}

function convertScalar(schema: JsonSchemaLike, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const type = schema.type;
  if (type === 'integer' && /^-?\d{1,16}$/.test(value)) return Number(value);
  if (type === 'number' && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function convertProperty(schema: JsonSchemaLike, value: unknown): unknown {
  if (schema.type === 'array') {
    const items = Array.isArray(value) ? value : [value];
    return schema.items ? items.map((item) => convertScalar(schema.items as JsonSchemaLike, item)) : items;
  }
  return convertScalar(schema, value);
}

function convertObject(schema: JsonSchemaLike, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !schema.properties) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [name, property] of Object.entries(schema.properties)) {
    if (Object.hasOwn(out, name)) out[name] = convertProperty(property, out[name]);
  }
  return out;
}

export const strictValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema);
  return (value: unknown) => {
    const converted = httpPart === 'body' ? value : convertObject(schema as JsonSchemaLike, value);
    if (check.Check(converted)) return { value: converted };
    return { error: check.Errors(converted) as unknown as Error };
  };
};
