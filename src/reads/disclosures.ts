import { randomUUID } from 'node:crypto';
import { type Category, type DomainEvent, trailStream } from '../../events';
import type { Disclosure } from '../../projections/policy';
import type { Actor } from '../access/actor';
import type { Clock } from '../ledger/clock';
import { CommandIds } from '../ledger/command-ids';
import type { EventStore } from '../../events/event-store';

export type TrailAction = DomainEvent<'AccessRecorded'>['data']['action'];

export interface DisclosedCase {
  readonly caseId: string;
  readonly outcome: DomainEvent<'AccessRecorded'>['data']['outcome'];
  readonly disclosure?: Disclosure;
}

export interface RequestContext {
  readonly requestId: string;
  readonly ip?: string;
  readonly purpose: string;
}

/**
 * The access trail's writer (ENTITLEMENTS.md "The access trail"): one AccessRecorded event per
 * disclosed or refused case, all of a response in one append to the ledger, durable before the
 * response may leave. No record, no disclosure: if the append fails, so does the read.
 */
export class Disclosures {
  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
  ) {}

  async record(actor: Actor, action: TrailAction, cases: readonly DisclosedCase[], request: RequestContext): Promise<void> {
    if (cases.length === 0) return;
    const commandId = randomUUID();
    const ids = new CommandIds(commandId);
    const occurredAt = this.clock.now().toISOString();
    await this.store.append(
      trailStream(actor.zone, commandId),
      cases.map((c, i) => ({
        id: ids.event(i),
        type: 'AccessRecorded',
        data: {
          action,
          caseId: c.caseId,
          roles: [...actor.roles],
          categories: [...(c.disclosure?.categories ?? [])] as Category[],
          purpose: request.purpose,
          basis: [...(c.disclosure?.basis ?? [])],
          outcome: c.outcome,
          owners: [...(c.disclosure?.owners ?? [])],
          ...(request.ip ? { ip: request.ip } : {}),
        } satisfies DomainEvent<'AccessRecorded'>['data'],
        metadata: { zone: actor.zone, agency: actor.agency, operator: actor.operator, occurredAt, commandId, correlationId: request.requestId },
      })),
      'no-stream',
    );
  }
}
