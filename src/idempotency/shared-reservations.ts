import { randomUUID } from 'node:crypto';
import { type EventStore, idempotencyStream, type StoredEvent, WrongExpectedRevisionError } from '../../events';
import type { Actor } from '../access/actor';
import { IDEMPOTENCY_WINDOW_MS, type IdempotencyStore, type Reservation, type StoredResponse } from './idempotency-store';

/** Where Idempotency-Keys are reserved: this instance's file, or the ledger that every instance shares. */
export interface KeyReservations {
  reserve(actor: Actor, key: string, fingerprint: string, now: number): Promise<Reservation>;
  complete(actor: Actor, key: string, commandId: string, response: StoredResponse): void;
  release(actor: Actor, key: string, commandId: string, now: number): Promise<void>;
}

/** One instance (the embedded store): the reservations live in DATA_DIR/idempotency.db, fsynced. */
export function localReservations(local: IdempotencyStore): KeyReservations {
  return {
    reserve: async (actor, key, fingerprint, now) => local.reserve(actor, key, fingerprint, now),
    complete: (actor, key, commandId, response) => local.complete(actor, key, commandId, response),
    release: async (actor, key, commandId) => local.release(actor, key, commandId),
  };
}

/**
 * Several instances over one EventStoreDB: a key is reserved by an event in the shared ledger,
 * in a stream of its own (named by a keyed hash of agency and key), appended at the revision
 * read, so two instances racing for one key cannot both win. A retry on any instance finds the
 * reservation and runs as the same command, which the ledger recognises; answers are kept only
 * by the instance that gave them (they may hold personal data: never in the ledger), and another
 * instance gives the same answer by running the same command again.
 */
export function sharedReservations(store: EventStore, keyHash: (text: string) => string, local: IdempotencyStore): KeyReservations {
  const streamOf = (actor: Actor, key: string) => idempotencyStream(actor.zone, keyHash(`idempotency\u0000${actor.agency}\u0000${key}`));
  const metadata = (actor: Actor, commandId: string, now: number) => ({
    zone: actor.zone,
    agency: actor.agency,
    operator: actor.operator,
    occurredAt: new Date(now).toISOString(),
    commandId,
    correlationId: commandId,
  });
  /** The key's live reservation: the last event, if it reserves and is less than 24 hours old. */
  const live = (events: StoredEvent[], now: number) => {
    const last = events[events.length - 1];
    if (!last || last.type !== 'IdempotencyKeyReserved' || Date.parse(last.metadata.occurredAt) <= now - IDEMPOTENCY_WINDOW_MS) return undefined;
    return last.data as { fingerprint: string; commandId: string };
  };
  return {
    async reserve(actor, key, fingerprint, now) {
      const stream = streamOf(actor, key);
      for (let attempt = 0; attempt < 10; attempt++) {
        const events = await store.readStream(stream);
        const reserved = live(events, now);
        if (reserved) {
          if (reserved.fingerprint !== fingerprint) return 'reused';
          const response = local.answer(actor, key, reserved.commandId);
          return { commandId: reserved.commandId, ...(response ? { response } : {}) };
        }
        const commandId = randomUUID();
        try {
          await store.append(
            stream,
            [{ id: randomUUID(), type: 'IdempotencyKeyReserved', data: { fingerprint, commandId }, metadata: metadata(actor, commandId, now) }],
            events.length === 0 ? 'no-stream' : events[events.length - 1]!.revision,
          );
          local.remember(actor, key, fingerprint, commandId, now);
          return { commandId };
        } catch (error) {
          // Another instance reserved it first: read its reservation.
          if (!(error instanceof WrongExpectedRevisionError)) throw error;
        }
      }
      throw new Error('the Idempotency-Key kept changing while it was reserved');
    },
    complete: (actor, key, commandId, response) => local.complete(actor, key, commandId, response),
    async release(actor, key, commandId, now) {
      local.release(actor, key, commandId);
      const stream = streamOf(actor, key);
      const events = await store.readStream(stream);
      if (live(events, now)?.commandId !== commandId) return;
      await store
        .append(stream, [{ id: randomUUID(), type: 'IdempotencyKeyReleased', data: { commandId }, metadata: metadata(actor, commandId, now) }], events[events.length - 1]!.revision)
        .catch((error: unknown) => {
          if (!(error instanceof WrongExpectedRevisionError)) throw error;
        });
    },
  };
}
