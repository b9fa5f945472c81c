import { z } from 'zod';

/**
 * OpenAPI 3.1 schemas generated from the zod schemas that validate requests: one source for the
 * contract. Datum kinds (events/datum.ts) are published as `x-datum`, so integrators see which
 * fields are personal data and how they are classified.
 */
/** The length of a string of these formats, whatever its value. */
const FORMAT_LENGTH: Record<string, number> = { uuid: 36, date: 10 };
const INT32 = 2 ** 31;

/**
 * The bounds a reader (and the OWASP API Security ruleset) looks for, where the zod schema
 * implies them without saying: a UUID or a date has a fixed length, an integer a size.
 */
function bound(node: Record<string, unknown>): void {
  if (node.type === 'string' && node.maxLength === undefined && node.enum === undefined && node.const === undefined) {
    const length = FORMAT_LENGTH[String(node.format)];
    if (length !== undefined) node.maxLength = length;
  }
  if (node.type === 'integer' && node.format === undefined) {
    const min = typeof node.minimum === 'number' ? node.minimum : -Infinity;
    const max = typeof node.maximum === 'number' ? node.maximum : Infinity;
    node.format = min >= -INT32 && max < INT32 ? 'int32' : 'int64';
  }
}

export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, {
    io,
    target: 'draft-2020-12',
    unrepresentable: 'any',
    override: ({ jsonSchema: node }) => {
      const n = node as Record<string, unknown>;
      if ('datum' in n) {
        n['x-datum'] = n.datum;
        delete n.datum;
      }
      bound(n);
    },
  }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}
