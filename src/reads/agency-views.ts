import type { AgencyPartition, ReadModels } from '../../projections/read-models';
import type { Actor } from '../access/actor';

declare const authenticated: unique symbol;

/** An actor that came out of a verified token; only the token verifier makes one. */
export type AuthenticatedActor = Actor & { readonly [authenticated]: true };

/**
 * The only way from the read path to the per-agency views: the partition of the caller's own
 * zone and agency, taken from the authenticated actor. There is no method that takes an agency
 * id, and a query handler cannot be built without the partition (case-queries.ts).
 */
export class AgencyViews {
  constructor(private readonly models: ReadModels) {}

  of(actor: AuthenticatedActor): AgencyPartition {
    return this.models.cases.partition({ zone: actor.zone, agency: actor.agency });
  }
}
