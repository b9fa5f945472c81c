import {
  type CaseEvent,
  type CaseEventType,
  type Category,
  type ClassificationContext,
  type ClassifiedDatum,
  classify,
  type ProtocolEvent,
  type ZoneProtocol,
  evolveProtocol,
  needCategory,
  agencyReferenceCategories,
} from '../../events';
import { type CaseState, EMPTY_CASE, evolve } from '../../events/case-state';
import { formatPosition, type StoredEvent } from '../../events/event-store';

/** One event of a case as the policy reads it: what, when, by whom. */
export interface LedgerEntry {
  readonly position: string;
  readonly revision: number;
  readonly type: CaseEventType;
  readonly data: CaseEvent['data'];
  /** The author agency (metadata). */
  readonly agency: string;
  readonly operator: string;
  /** When it happened (ISO instant). */
  readonly at: string;
  /** Its person was erased: its data is gone but for its structural ids. */
  readonly erased?: boolean;
}

/** A case event from the ledger as the policy reads it (the projection runner and the auditors' replay alike). */
export function ledgerEntryOf(event: StoredEvent): LedgerEntry {
  return {
    position: formatPosition(event.position),
    revision: Number(event.revision),
    type: event.type as CaseEventType,
    data: event.data as CaseEvent['data'],
    agency: event.metadata.agency,
    operator: event.metadata.operator,
    at: event.metadata.occurredAt,
    ...(event.erased ? { erased: true } : {}),
  };
}

/** A protocol event from the ledger. */
export function protocolEntryOf(event: StoredEvent): ProtocolEntry {
  return { type: event.type as ProtocolEvent['type'], data: event.data as ProtocolEvent['data'], at: event.metadata.occurredAt, revision: Number(event.revision) };
}

/** One protocol event of the zone, for the protocol as of an instant. */
export interface ProtocolEntry {
  readonly type: ProtocolEvent['type'];
  readonly data: ProtocolEvent['data'];
  readonly at: string;
  readonly revision: number;
}

/** A datum of an entry, classified once, with who recorded it. */
export interface Fact extends ClassifiedDatum {
  readonly entry: number;
  readonly author: string;
  /** False for `none` data: ids and numbers that are not personal data. */
  readonly personal: boolean;
}

/**
 * Everything the policy needs to know of a case, folded once from its entries and shared by
 * the views of every agency: membership, consents, and each datum with its categories.
 */
export interface CaseFacts {
  readonly caseId: string;
  readonly entries: readonly LedgerEntry[];
  /** The case folded (case-state.ts): membership, consents, status. */
  readonly state: CaseState;
  readonly facts: readonly Fact[];
  /** Facts by entry index. */
  readonly byEntry: ReadonlyArray<readonly Fact[]>;
  readonly protocol: ZoneProtocol | undefined;
}

/**
 * The zone's protocol in force as of an instant (undefined: the latest). Views depend only on
 * the protocol in force: proposals and approvals are folded without their authors.
 */
export function protocolAsOf(entries: readonly ProtocolEntry[], asOf?: string): ZoneProtocol | undefined {
  let protocol: ZoneProtocol | undefined;
  for (const entry of entries) {
    if (asOf !== undefined && entry.at > asOf) break;
    protocol = evolveProtocol(protocol, { type: entry.type, data: entry.data } as ProtocolEvent, BigInt(entry.revision));
  }
  return protocol;
}

export function caseFacts(caseId: string, allEntries: readonly LedgerEntry[], protocol: ZoneProtocol | undefined, asOf?: string): CaseFacts {
  const entries = asOf === undefined ? allEntries : allEntries.filter((e) => e.at <= asOf);
  const objectives = new Map<string, readonly Category[]>();
  let state: CaseState = EMPTY_CASE;
  for (const entry of entries) {
    const event = { type: entry.type, data: entry.data } as CaseEvent;
    state = evolve(state, event, entry);
    if (event.type === 'PlanRevisionDrafted' && !entry.erased) {
      for (const o of event.data.objectives) objectives.set(`${event.data.planRevision}/${o.id}`, ['common', needCategory(o.dimension)]);
    }
  }
  const ctx: ClassificationContext = {
    kindOf: (agency) => protocol?.kinds.get(agency),
    objectiveCategories: (planRevision, objectiveId) => objectives.get(`${planRevision}/${objectiveId}`),
  };
  // Each field named (a datum is path, kind, value, categories) rather than `{ ...d, entry }`: an
  // object spread followed by more properties takes a slow generic path in V8.
  const byEntry: Fact[][] = entries.map((entry, i) =>
    entry.erased
      ? []
      : classify({ type: entry.type, data: entry.data } as CaseEvent, ctx).map((d) => ({
          path: d.path,
          kind: d.kind,
          value: d.value,
          categories: d.categories,
          entry: i,
          author: entry.agency,
          personal: d.kind !== 'none',
        })),
  );
  return {
    caseId,
    entries,
    state,
    facts: byEntry.flat(),
    byEntry,
    protocol,
  };
}

/** The categories of "agency X recorded this": a reference to X (ENTITLEMENTS.md). */
export function authorCategories(facts: CaseFacts, author: string): readonly Category[] {
  return agencyReferenceCategories(author, { kindOf: (agency) => facts.protocol?.kinds.get(agency) });
}
