import { Inject, Injectable } from '@nestjs/common';
import { type IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import type { CaseView, Disclosure } from '../../projections/policy';
import type { Caller } from '../access/caller';
import { Audit } from '../audit/audit';
import { NotFound } from '../errors';
import { Disclosures, type RequestContext, type TrailAction } from './disclosures';

/*
 * API.md "Auditor": every auditor read is on the access trail (ENTITLEMENTS.md "Roles"), of the
 * auditor's agency, in the auditor's zone, with the zone from the token. Reads of the ledger's
 * structure (events without personal data, proofs, checkpoints, verification) are recorded
 * with case "*" before their answer leaves, and where a read shows which agency wrote on which
 * case (a page of events), with one record per case it shows, as a disclosure of that case with
 * its categories and owners; the as-of view of a case is recorded as a disclosure of that case,
 * with the categories and owners it shows, as any case read is.
 */

type ZoneAction = Exclude<TrailAction, `case.${string}` | 'subject.erasure' | 'dpo.subject'>;

/** A read of the zone's ledger structure: `read` gets the audit and the caller's zone, nothing else. */
export class AuditRead<T> extends Query<T> {
  constructor(
    readonly caller: Caller,
    readonly action: ZoneAction,
    readonly request: RequestContext,
    readonly read: (audit: Audit, zone: string) => Promise<T> | T,
    /** The cases the answer discloses, besides the zone's record (`*`). */
    readonly disclosed?: (result: T, audit: Audit, zone: string) => Promise<ReadonlyArray<{ caseId: string; disclosure: Disclosure }>>,
  ) {
    super();
  }
}

export class GetCaseAsOf extends Query<CaseView> {
  constructor(
    readonly caller: Caller,
    readonly caseId: string,
    readonly agency: string,
    readonly asOf: string,
    readonly request: RequestContext,
  ) {
    super();
  }
}

@Injectable()
@QueryHandler(AuditRead)
export class AuditReadHandler implements IQueryHandler<AuditRead<unknown>> {
  constructor(
    @Inject(Disclosures) private readonly disclosures: Disclosures,
    @Inject(Audit) private readonly audit: Audit,
  ) {}

  async execute({ caller, action, request, read, disclosed }: AuditRead<unknown>) {
    let result: unknown;
    try {
      result = await read(this.audit, caller.actor.zone);
    } catch (error) {
      if (error instanceof NotFound) await this.disclosures.record(caller.actor, action, [{ caseId: '*', outcome: 'not-found' }], request);
      throw error;
    }
    const cases = disclosed ? await disclosed(result, this.audit, caller.actor.zone) : [];
    await this.disclosures.record(
      caller.actor,
      action,
      [{ caseId: '*', outcome: 'disclosed' }, ...cases.map((c) => ({ caseId: c.caseId, outcome: 'disclosed' as const, disclosure: c.disclosure }))],
      request,
    );
    return result;
  }
}

@Injectable()
@QueryHandler(GetCaseAsOf)
export class GetCaseAsOfHandler implements IQueryHandler<GetCaseAsOf> {
  constructor(
    @Inject(Disclosures) private readonly disclosures: Disclosures,
    @Inject(Audit) private readonly audit: Audit,
  ) {}

  async execute({ caller, caseId, agency, asOf, request }: GetCaseAsOf) {
    const shown = await this.audit.caseAsOf(caller.actor.zone, caseId, agency, asOf);
    if (!shown) {
      await this.disclosures.record(caller.actor, 'case.read-as-of', [{ caseId, outcome: 'not-found' }], request);
      throw new NotFound('no such case for that agency at that instant');
    }
    await this.disclosures.record(caller.actor, 'case.read-as-of', [{ caseId, outcome: 'disclosed', disclosure: shown.disclosure }], request);
    return shown.view;
  }
}

export const AUDIT_QUERY_HANDLERS = [AuditReadHandler, GetCaseAsOfHandler];
