/**
 * Stream names. The zone is part of every name, so a token of one zone can never name another
 * zone's streams; ids are UUIDs and zones are slugs: no personal data in a stream name
 * (EVENTSTOREDB.md "Erasure constraints").
 */
export const STREAM_PREFIXES = { case: 'case-', protocol: 'protocol-', trail: 'trail-', erasure: 'erasure-', idempotency: 'idempotency-' } as const;

export const caseStream = (zone: string, caseId: string) => `${STREAM_PREFIXES.case}${zone}.${caseId}`;
export const protocolStream = (zone: string) => `${STREAM_PREFIXES.protocol}${zone}`;
/** One stream per recorded request: appended with no-stream, so a retried append is recognised. */
export const trailStream = (zone: string, recordId: string) => `${STREAM_PREFIXES.trail}${zone}.${recordId}`;
/** One stream per Idempotency-Key of an agency (a keyed hash of both, never the key): its reservations (EventStoreDB mode). */
export const idempotencyStream = (zone: string, keyHash: string) => `${STREAM_PREFIXES.idempotency}${zone}.${keyHash}`;
/** One stream per erased person and zone (the person's pseudonym, never their fiscal code): a repeat finds it. */
export const erasureStream = (zone: string, subject: string) => `${STREAM_PREFIXES.erasure}${zone}.${subject}`;

export type ParsedStream =
  | { kind: 'case'; zone: string; caseId: string }
  | { kind: 'protocol'; zone: string }
  | { kind: 'trail'; zone: string }
  | { kind: 'erasure'; zone: string }
  | { kind: 'idempotency'; zone: string }
  | { kind: 'other' };

export function parseStream(stream: string): ParsedStream {
  if (stream.startsWith(STREAM_PREFIXES.case)) {
    const rest = stream.slice(STREAM_PREFIXES.case.length);
    const dot = rest.indexOf('.');
    if (dot > 0) return { kind: 'case', zone: rest.slice(0, dot), caseId: rest.slice(dot + 1) };
  } else if (stream.startsWith(STREAM_PREFIXES.protocol)) {
    return { kind: 'protocol', zone: stream.slice(STREAM_PREFIXES.protocol.length) };
  } else if (stream.startsWith(STREAM_PREFIXES.trail)) {
    const rest = stream.slice(STREAM_PREFIXES.trail.length);
    const dot = rest.indexOf('.');
    if (dot > 0) return { kind: 'trail', zone: rest.slice(0, dot) };
  } else if (stream.startsWith(STREAM_PREFIXES.erasure)) {
    const rest = stream.slice(STREAM_PREFIXES.erasure.length);
    const dot = rest.indexOf('.');
    if (dot > 0) return { kind: 'erasure', zone: rest.slice(0, dot) };
  } else if (stream.startsWith(STREAM_PREFIXES.idempotency)) {
    const rest = stream.slice(STREAM_PREFIXES.idempotency.length);
    const dot = rest.indexOf('.');
    if (dot > 0) return { kind: 'idempotency', zone: rest.slice(0, dot) };
  }
  return { kind: 'other' };
}

/**
 * The zone whose Merkle log holds a stream's events (src/audit/zone-logs.ts); '' for a stream of
 * no zone (none is written by the service, but a store may hold one).
 */
export function zoneOfStream(stream: string): string {
  const parsed = parseStream(stream);
  return parsed.kind === 'other' ? '' : parsed.zone;
}

/** Prefixes that select a superset of a zone's streams for a filtered read; check zoneOfStream on each event. */
export const zoneStreamPrefixes = (zone: string): string[] => [
  `${STREAM_PREFIXES.case}${zone}.`,
  `${STREAM_PREFIXES.protocol}${zone}`,
  `${STREAM_PREFIXES.trail}${zone}.`,
  `${STREAM_PREFIXES.erasure}${zone}.`,
  `${STREAM_PREFIXES.idempotency}${zone}.`,
];
