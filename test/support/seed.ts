import { randomUUID } from 'node:crypto';
import type { Actor, Role } from '../../src/access/actor';
import { CaseLedger } from '../../src/case/case-ledger';
import type { z } from 'zod';
import { type Decides, routedInput, type SentInput } from './decide';
import type { Clock } from '../../src/ledger/clock';
import { ProtocolLedger } from '../../src/protocol/protocol-ledger';
import { decideSigning } from '../../src/protocol/sign-protocol';
import { dateInItaly } from '../../events';
import type { EventStore } from '../../events/event-store';
import { AGENCIES, PROTOCOL_TERMS, ZONE } from './fixtures';

/** Writes a ledger through the real write path (decisions, expected revisions), without HTTP. */
export class Seeder {
  readonly protocols: ProtocolLedger;
  readonly cases: CaseLedger;

  constructor(
    readonly store: EventStore,
    clock: Clock = { now: () => new Date('2025-06-02T09:00:00Z') },
  ) {
    this.protocols = new ProtocolLedger(store, clock);
    this.cases = new CaseLedger(store, this.protocols, clock);
  }

  actor(agency: string, roles: Role[] = ['operator', 'coordinator'], zone = ZONE): Actor {
    return { zone, agency, operator: `op-${agency}`, roles };
  }

  async protocol(terms = PROTOCOL_TERMS, zone = ZONE) {
    const signer = { zone, agency: AGENCIES.sds, operator: 'admin' };
    return this.protocols.execute({
      signer,
      decide: (current) => decideSigning(current, terms, signer, randomUUID(), dateInItaly(new Date())),
      commandId: randomUUID(),
      correlationId: 'seed',
    });
  }

  async run<B extends z.ZodType, I>(agency: string, behaviour: Decides<B, I>, sent: SentInput<B, I>, caseId?: string, zone = ZONE) {
    const input = routedInput(behaviour, sent);
    return this.cases.execute({ actor: this.actor(agency, undefined, zone), caseId, decision: behaviour.decide, input, commandId: randomUUID(), correlationId: 'seed' });
  }
}
