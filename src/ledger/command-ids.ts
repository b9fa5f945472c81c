import { createHash, randomUUID } from 'node:crypto';

/**
 * Deterministic ids (RFC 9562 UUID version 5, SHA-1 name-based). Everything a command creates —
 * event ids, a new case id, a consent id — is derived from the command id, so that a retried
 * command produces the same ids and the store recognises the retry instead of writing it twice
 * (EVENTSTOREDB.md "Appending"; ARCHITECTURE.md property 2).
 */
const LEDGER_NAMESPACE = '5b0a6c3e-4a43-4c83-9d0f-3c6f2f7e2a51';

export function uuidV5(name: string, namespace: string = LEDGER_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A new command id. An Idempotency-Key reserves one for its 24 hours (src/idempotency). */
export function newCommandId(): string {
  return randomUUID();
}

/** The ids one command may create, all derived from its id. */
export class CommandIds {
  constructor(readonly commandId: string) {}

  /** The id of a new entity this command creates (`case`, `consent`, ...). */
  entity(kind: string): string {
    return uuidV5(`${this.commandId}/${kind}`);
  }

  /** The id of the command's i-th event. */
  event(index: number): string {
    return uuidV5(`${this.commandId}/event/${index}`);
  }
}
