import { z } from 'zod';
import { AgencyId, OperatorId, ZoneId } from './categories';
import { IsoInstant } from './values';

/**
 * Who did what, when, and as part of which request (API.md: actor, agency and zone come from the
 * token). Never personal data of the person the case is about: stream names, event types and
 * metadata stay readable where event data may later be encrypted or erased (EVENTSTOREDB.md).
 */
export const EventMetadata = z.strictObject({
  zone: ZoneId,
  /** The author agency; `SYSTEM_AGENCY` for events the service appends itself (consent expiry). */
  agency: AgencyId,
  operator: OperatorId,
  occurredAt: IsoInstant,
  commandId: z.uuid(),
  correlationId: z.string().min(1).max(128),
  schemaVersion: z.int().min(1),
});
export type EventMetadata = z.infer<typeof EventMetadata>;

/** The author of events the service appends by itself; never a protocol party. */
export const SYSTEM_AGENCY = 'ledger';
/** What a DPO's trail reads in place of a reader its agency may not see (ENTITLEMENTS.md "The access trail"); never a protocol party, so that it cannot be mistaken for one. */
export const UNDISCLOSED_AGENCY = 'undisclosed';
export const SYSTEM_OPERATORS = { consentExpiry: 'ledger:consent-expiry' } as const;
