import { Inject, Injectable } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { z } from 'zod';
import type { ProtocolEvent, ZoneProtocol } from '../../events';
import { NotFound, RuleViolation } from '../errors';
import type { Behaviour, CommandOrigin } from '../ledger/behaviour';
import { CLOCK, type Clock } from '../ledger/clock';
import { ProtocolLedger } from './protocol-ledger';
import { isPending, ProposalPending, type ProtocolAnswer, protocolAnswer, ProtocolView } from './protocol-view';

/**
 * decide: one required party's approval of a widening renewal. The last one puts the proposal
 * in force, in the same append (ENTITLEMENTS.md). A proposal a later renewal or proposal
 * replaced is refused as superseded; one the approver is not awaited on, as not-awaited. Pure.
 */
export function decideApproval(current: ZoneProtocol | undefined, proposalId: string, approver: string): ProtocolEvent[] {
  if (current?.superseded.has(proposalId)) throw new RuleViolation('proposal-superseded');
  const pending = current?.pending;
  if (!current || pending?.proposalId !== proposalId) throw new NotFound('no such proposal');
  if (!pending.awaiting.has(approver)) throw new RuleViolation('not-awaited', approver);
  const approval: ProtocolEvent = { type: 'ProtocolProposalApproved', data: { proposalId } };
  if (pending.awaiting.size > 1) return [approval];
  return [approval, { type: 'ProtocolRenewed', data: { version: current.current.version + 1, ...pending.terms } }];
}

export class ApproveProposal {
  constructor(
    readonly origin: CommandOrigin,
    readonly proposalId: string,
  ) {}
}

@Injectable()
@CommandHandler(ApproveProposal)
export class ApproveProposalHandler implements ICommandHandler<ApproveProposal, ProtocolAnswer> {
  constructor(
    @Inject(ProtocolLedger) private readonly protocols: ProtocolLedger,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ origin, proposalId }: ApproveProposal): Promise<ProtocolAnswer> {
    const { protocol } = await this.protocols.execute({ ...origin, signer: origin.actor, decide: (current) => decideApproval(current, proposalId, origin.actor.agency) });
    return protocolAnswer(origin.actor.zone, protocol, this.clock.now(), proposalId);
  }
}

/** POST /v1/protocol/proposals/{proposalId}/approval: 200 once in force, 202 while others are awaited. */
export const approveProposal: Behaviour<z.ZodObject, { proposalId: z.ZodUUID }, ProtocolAnswer> = {
  name: 'ApproveProposal',
  route: {
    method: 'POST',
    path: 'protocol/proposals/:proposalId/approval',
    params: { proposalId: z.uuid({ error: 'must be a proposal id (UUID)' }) },
    status: 200,
    roles: ['admin'],
    summary: 'Approve a protocol renewal that widens what some party receives',
    description:
      'An admin of each party in both the protocol in force and the proposed one approves; the last approval puts it in force (200), before that the answer is 202 with who is still awaited.',
  },
  body: z.strictObject({}),
  answer: ProtocolView,
  otherAnswers: [{ status: 202, schema: ProposalPending, description: 'a renewal that widens what a party receives, awaiting the approval of the parties named' }],
  command: (origin, params) => new ApproveProposal(origin, params.proposalId),
  statusOf: (answer) => (isPending(answer) ? 202 : 200),
  headers: (answer): Record<string, string> => (isPending(answer) ? {} : { etag: `"${answer.revision}"` }),
  sends: ['ETag'],
};
