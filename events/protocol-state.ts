import type { AgencyKind } from './categories';
import type { ProtocolEvent } from './catalogue';
import type { ProtocolState, ResolvedParty } from './protocol-events';

/** The zone's protocol as the ledger says it is now, and the kind of every agency it ever named. */
export interface ZoneProtocol {
  readonly current: ProtocolState;
  /** Kinds of all parties of all versions: a reference to a former party is still classified. */
  readonly kinds: ReadonlyMap<string, AgencyKind>;
  readonly revision: bigint;
}

export function evolveProtocol(protocol: ZoneProtocol | undefined, event: ProtocolEvent, revision: bigint): ZoneProtocol {
  const kinds = new Map(protocol?.kinds);
  for (const party of event.data.parties) kinds.set(party.agency, party.kind);
  return { current: event.data, kinds, revision };
}

export function partyOf(protocol: ZoneProtocol | undefined, agency: string): ResolvedParty | undefined {
  return protocol?.current.parties.find((p) => p.agency === agency);
}

const ROME_DATE = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Rome', year: 'numeric', month: '2-digit', day: '2-digit' });

let memo = { minute: NaN, date: '' };

/** Today's date where the protocols are signed: validity windows are Italian calendar days. */
export function dateInItaly(now: Date): string {
  // Formatting with a time zone is slow and asked for on every command: remember it per minute.
  const minute = Math.floor(now.getTime() / 60_000);
  if (minute !== memo.minute) memo = { minute, date: ROME_DATE.format(now) };
  return memo.date;
}

export function inForce(protocol: ZoneProtocol | undefined, now: Date): protocol is ZoneProtocol {
  if (!protocol) return false;
  const today = dateInItaly(now);
  return protocol.current.validFrom <= today && today <= protocol.current.validUntil;
}
