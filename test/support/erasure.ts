import type { ErasureRequest } from '../../src/subjects/erasures';
import { AGENCIES, ZONE } from './fixtures';

/** An admin's erasure at the person's request, in the fixtures' zone: what the erasure tests send. */
export function erasureRequest(correlationId: string): ErasureRequest {
  return { actor: { zone: ZONE, agency: AGENCIES.sds, operator: 'admin' }, legalBasis: 'gdpr-17-1-a', reason: 'request-of-the-person', correlationId };
}
