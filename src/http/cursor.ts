import type { z } from 'zod';
import { ValidationFailed } from '../errors';

/** Opaque paging cursors (API.md "Conventions"): base64url JSON, checked on the way back in. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<S extends z.ZodType>(cursor: string, schema: S): z.output<S> {
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through
  }
  throw new ValidationFailed([{ path: 'query.cursor', message: 'is not a cursor this service gave' }]);
}
