import { Inject, Injectable } from '@nestjs/common';
import type { z } from 'zod';
import { ValidationFailed } from '../errors';
import { KeyStore } from '../keys/key-store';
import { openBytes, sealBytes } from '../store/aead';

/**
 * Opaque paging cursors (API.md "Conventions"), sealed (AES-256-GCM) under a secret of the key
 * store. A cursor holds where the next page starts: for the access trail that is a row number
 * shared by every agency's records, which would tell a DPO how many records others made between
 * two of its pages (ENTITLEMENTS.md "Nothing leaks through the side"). Sealed, it tells nothing.
 * Each cursor is bound to where it was given (`context`: the route and the caller's zone,
 * agency, scope): anywhere else it is "not a cursor this service gave", as is an altered one.
 */
/** A cursor's text is padded to a multiple of this many characters before it is sealed. */
const PAD = 64;

@Injectable()
export class Cursors {
  private readonly key: Buffer;

  constructor(@Inject(KeyStore) keys: KeyStore) {
    this.key = keys.cursorKey();
  }

  seal(value: unknown, context: readonly string[]): string {
    // Padded (JSON.parse skips trailing spaces) so that the length does not tell a number's digits.
    const text = JSON.stringify(value);
    return sealBytes(this.key, text.padEnd(Math.ceil((text.length + 1) / PAD) * PAD, ' '), context.join('\u0000')).toString('base64url');
  }

  open<S extends z.ZodType>(cursor: string, schema: S, context: readonly string[]): z.output<S> {
    try {
      const parsed = schema.safeParse(JSON.parse(openBytes(this.key, Buffer.from(cursor, 'base64url'), context.join('\u0000')).toString('utf8')));
      if (parsed.success) return parsed.data;
    } catch {
      // fall through: not sealed here, for this place, or altered
    }
    throw new ValidationFailed([{ path: 'query.cursor', message: 'is not a cursor this service gave' }]);
  }
}
