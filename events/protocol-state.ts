import type { AgencyKind } from './categories';
import type { ProtocolEvent } from './catalogue';
import type { ProposedTerms, ProtocolState, ResolvedParty } from './protocol-events';

/** A widening renewal waiting for the approval of parties (ENTITLEMENTS.md). */
export interface PendingProposal {
  readonly proposalId: string;
  readonly terms: ProposedTerms;
  /** Who proposed it (its approval is the proposal itself). */
  readonly proposedBy: string;
  readonly awaiting: ReadonlySet<string>;
  readonly approved: ReadonlySet<string>;
}

/** The zone's protocol as the ledger says it is now, and the kind of every agency it ever named. */
export interface ZoneProtocol {
  readonly current: ProtocolState;
  /** Kinds of all parties of all versions: a reference to a former party is still classified. */
  readonly kinds: ReadonlyMap<string, AgencyKind>;
  readonly revision: bigint;
  /** The widening renewal waiting for approvals, if any; it does not change what anyone receives. */
  readonly pending?: PendingProposal;
  /** Proposals replaced by a later proposal or renewal: approving one is refused as superseded. */
  readonly superseded: ReadonlySet<string>;
}

/**
 * The fold of a zone's protocol stream. Only ProtocolSigned and ProtocolRenewed change the
 * protocol in force; a proposal waits beside it, and any renewal or newer proposal supersedes it.
 * (A protocol stream begins with ProtocolSigned; the `undefined` cases are for a stream read
 * from its middle, which nothing does.)
 */
export function evolveProtocol(protocol: ZoneProtocol | undefined, event: ProtocolEvent, revision: bigint, author = ''): ZoneProtocol {
  const superseded = (next?: PendingProposal) => {
    const pending = protocol?.pending;
    return pending && pending.proposalId !== next?.proposalId ? new Set([...(protocol?.superseded ?? []), pending.proposalId]) : (protocol?.superseded ?? new Set<string>());
  };
  switch (event.type) {
    case 'ProtocolSigned':
    case 'ProtocolRenewed': {
      const kinds = new Map(protocol?.kinds);
      for (const party of event.data.parties) kinds.set(party.agency, party.kind);
      // A proposal that comes into force is done with, not superseded.
      const enacted = event.type === 'ProtocolRenewed' && protocol?.pending && protocol.pending.awaiting.size === 0;
      return { current: event.data, kinds, revision, superseded: enacted ? (protocol?.superseded ?? new Set()) : superseded() };
    }
    case 'ProtocolRenewalProposed': {
      if (!protocol) throw new Error('a protocol proposal before the first protocol');
      // A proposal changes nothing anyone receives, the kinds of agencies included (a reference
      // to an agency is classified by its kind): they change when it comes into force.
      const pending: PendingProposal = {
        proposalId: event.data.proposalId,
        terms: event.data.terms,
        proposedBy: author,
        awaiting: new Set(event.data.awaiting),
        approved: new Set(),
      };
      return { ...protocol, revision, pending, superseded: superseded(pending) };
    }
    case 'ProtocolProposalApproved': {
      if (!protocol) throw new Error('a protocol approval before the first protocol');
      const pending = protocol.pending;
      if (!pending || pending.proposalId !== event.data.proposalId) return { ...protocol, revision };
      const awaiting = new Set(pending.awaiting);
      awaiting.delete(author);
      return { ...protocol, revision, pending: { ...pending, awaiting, approved: new Set([...pending.approved, author]) } };
    }
  }
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
