import { z } from 'zod';

/**
 * OpenAPI 3.1 schemas generated from the zod schemas that validate requests: one source for the
 * contract. Datum kinds (events/datum.ts) are published as `x-datum`, so integrators see which
 * fields are personal data and how they are classified.
 */
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
    },
  }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}
