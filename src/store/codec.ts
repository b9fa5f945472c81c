import { currentVersion, type EventMetadata, EventMetadata as MetadataSchema, isEventType, parseEventData, upcast } from '../../events';
import type { EventToAppend } from '../../events/event-store';

/**
 * The one place where an event becomes bytes and bytes become an event again (ARCHITECTURE.md
 * property 8). Later, hashing for the auditors' Merkle log and per-person encryption of personal
 * fields slot in here, and nowhere else. Data is checked against its current schema before it
 * is ever written; on the way back it is brought forward by the upcasters.
 */
export interface EncodedEvent {
  readonly id: string;
  readonly type: string;
  readonly data: Uint8Array;
  readonly metadata: Uint8Array;
}

export interface EventCodec {
  encode(event: EventToAppend): EncodedEvent;
  decode(type: string, data: Uint8Array, metadata: Uint8Array): { data: unknown; metadata: EventMetadata };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export const jsonCodec: EventCodec = {
  encode(event) {
    if (!isEventType(event.type)) throw new Error(`unknown event type ${event.type}`);
    const data = parseEventData(event.type, event.data);
    const metadata = MetadataSchema.parse({ ...event.metadata, schemaVersion: currentVersion(event.type) });
    return {
      id: event.id,
      type: event.type,
      data: Buffer.from(JSON.stringify(data), 'utf8'),
      metadata: Buffer.from(JSON.stringify(metadata), 'utf8'),
    };
  },
  decode(type, data, metadata) {
    const meta = JSON.parse(utf8.decode(metadata)) as EventMetadata;
    const raw: unknown = JSON.parse(utf8.decode(data));
    return { data: isEventType(type) ? upcast(type, meta.schemaVersion, raw) : raw, metadata: meta };
  },
};
