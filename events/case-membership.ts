import { partyOf, type ZoneProtocol } from './protocol-state';

/**
 * ENTITLEMENTS.md "Members of a case", one definition for the whole product: the decider
 * refuses commands of non-members with it, the policy decides visibility with it.
 */
export interface CaseMembership {
  readonly exists: boolean;
  /** The agency that submitted the referral. */
  readonly referrer?: string;
  /** Every agency that recorded anything in the case. */
  readonly authors: ReadonlySet<string>;
  /** Agencies added to the team and not removed since. */
  readonly team: ReadonlyMap<string, 'minimal' | 'extended'>;
  readonly caseManagerAgency?: string;
}

/** Full members: every minimal-team party, every agency on the team, the case manager's agency. */
export function isFullMember(case_: CaseMembership, protocol: ZoneProtocol | undefined, agency: string): boolean {
  if (!case_.exists) return false;
  if (case_.team.has(agency) || case_.caseManagerAgency === agency) return true;
  return partyOf(protocol, agency)?.minimalEquipe ?? false;
}

/**
 * A case exists for a full member, the referrer, or the author of any datum in it; for anyone
 * else it answers as if it did not exist at all. Coordination bodies see no case, only aggregates.
 */
export function existsFor(case_: CaseMembership, protocol: ZoneProtocol | undefined, agency: string): boolean {
  if (!case_.exists || protocol?.kinds.get(agency) === 'coordination') return false;
  return case_.referrer === agency || case_.authors.has(agency) || isFullMember(case_, protocol, agency);
}

/** Every full member of the case, in a stable order. */
export function fullMembers(case_: CaseMembership, protocol: ZoneProtocol | undefined): string[] {
  const members = new Set<string>();
  for (const party of protocol?.current.parties ?? []) if (party.minimalEquipe) members.add(party.agency);
  for (const agency of case_.team.keys()) members.add(agency);
  if (case_.caseManagerAgency) members.add(case_.caseManagerAgency);
  return [...members];
}
