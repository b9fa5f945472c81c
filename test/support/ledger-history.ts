import type { CaseEvent } from '../../events';
import { caseFacts, type LedgerEntry } from '../../projections/policy';
import type { ZoneProtocol } from '../../events';
import { CASE_ID } from './builders';
import { AGENCIES, protocolFixture } from './fixtures';

export { CASE_ID };

/** A case history for policy specs: events with their author, a day apart from 1 June 2025. */
export function history(...events: Array<CaseEvent & { by?: string; operator?: string }>): LedgerEntry[] {
  return events.map((e, i) => ({
    position: String(i + 10),
    revision: i,
    type: e.type,
    data: e.data,
    agency: e.by ?? AGENCIES.sds,
    operator: e.operator ?? `op-${(e.by ?? AGENCIES.sds).split('-')[0]}`,
    at: new Date(Date.UTC(2025, 5, 1 + i, 9)).toISOString(),
  }));
}

export function factsOf(entries: LedgerEntry[], protocol: ZoneProtocol | undefined = protocolFixture(), asOf?: string) {
  return caseFacts(CASE_ID, entries, protocol, asOf);
}
