import { Controller, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { AgencyId } from '../../events';
import type { Actor } from '../access/actor';
import { AddTeamMemberBody, addTeamMember } from '../case/add-team-member';
import { AgreePlanRevisionBody, agreePlanRevision } from '../case/agree-plan-revision';
import type { CaseCommandResult } from '../case/case-ledger';
import { CloseCaseBody, closeCase } from '../case/close-case';
import type { CaseDecision } from '../case/decision';
import { DraftPlanRevisionBody, draftPlanRevision } from '../case/draft-plan-revision';
import { RecordConsentBody, recordConsent } from '../case/record-consent';
import { RecordDecisionBody, recordDecision } from '../case/record-decision';
import { RecordNotesBody, recordNotes } from '../case/record-notes';
import { RecordOutcomeBody, recordOutcome } from '../case/record-outcome';
import { RecordVerificationBody, recordVerification } from '../case/record-verification';
import { RemoveTeamMemberBody, removeTeamMember } from '../case/remove-team-member';
import { ReopenCaseBody, reopenCase } from '../case/reopen-case';
import { ReportNonComplianceBody, reportNonCompliance } from '../case/report-non-compliance';
import { RunCaseCommand } from '../case/run-case-command';
import { SubmitReferralBody, submitReferral } from '../case/submit-referral';
import { TakeInChargeBody, takeInCharge } from '../case/take-in-charge';
import { ValidatePlanRevisionBody, validatePlanRevision } from '../case/validate-plan-revision';
import { WithdrawConsentBody, withdrawConsent } from '../case/withdraw-consent';
import { CurrentActor } from './access';
import { type CommandContext, CurrentCommand } from './command-context';
import { type CommandAccepted, WriteRoute } from './routes';
import { ValidBody, ValidParam } from './validation';

const CaseId = z.uuid({ error: 'must be a case id (UUID)' });
const ConsentId = z.uuid({ error: 'must be a consent id (UUID)' });
const PlanRevisionNumber = z.coerce.number({ error: 'must be a plan revision number' }).int('must be a plan revision number').min(1).max(1_000_000);

const caseId = { name: 'id', schema: CaseId };
const withCase = { id: CaseId };

/** API.md "Case commands": each route names its decision; the CommandBus runs it on the case. */
@ApiTags('case commands')
@Controller('v1')
export class CaseCommandsController {
  constructor(private readonly commands: CommandBus) {}

  private async run<I>(actor: Actor, command: CommandContext, decision: CaseDecision<I>, input: I, caseId?: string): Promise<CommandAccepted> {
    const result = await this.commands.execute(new RunCaseCommand({ actor, caseId, decision, input, ...command }));
    return accepted(result);
  }

  @WriteRoute('referrals', { summary: 'Refer a person (scheda unica di segnalazione): opens a case', roles: ['operator'], body: SubmitReferralBody })
  async submitReferral(
    @CurrentActor() actor: Actor,
    @CurrentCommand() command: CommandContext,
    @ValidBody() body: SubmitReferralBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const result = await this.run(actor, command, submitReferral, body);
    void reply.header('location', `/v1/cases/${result.caseId}`);
    return result;
  }

  @WriteRoute('cases/:id/consents', { summary: 'Record an authorisation: which agencies may receive which categories', roles: ['operator'], body: RecordConsentBody, params: withCase })
  recordConsent(@CurrentActor() actor: Actor, @CurrentCommand() command: CommandContext, @ValidParam(caseId) id: string, @ValidBody() body: RecordConsentBody) {
    return this.run(actor, command, recordConsent, body, id);
  }

  @WriteRoute('cases/:id/consents/:consentId/withdrawal', {
    summary: 'Withdraw an authorisation',
    roles: ['operator'],
    body: WithdrawConsentBody,
    params: { ...withCase, consentId: ConsentId },
  })
  withdrawConsent(
    @CurrentActor() actor: Actor,
    @CurrentCommand() command: CommandContext,
    @ValidParam(caseId) id: string,
    @ValidParam({ name: 'consentId', schema: ConsentId }) consentId: string,
    @ValidBody() body: z.output<typeof WithdrawConsentBody>,
  ) {
    return this.run(actor, command, withdrawConsent, { ...body, consentId }, id);
  }

  @WriteRoute('cases/:id/taking-in-charge', { summary: 'Take the case in charge and name the case manager', roles: ['coordinator'], body: TakeInChargeBody, params: withCase })
  takeInCharge(@CurrentActor() actor: Actor, @CurrentCommand() command: CommandContext, @ValidParam(caseId) id: string, @ValidBody() body: TakeInChargeBody) {
    return this.run(actor, command, takeInCharge, body, id);
  }

  @WriteRoute('cases/:id/members', { summary: 'Add an agency to the case team', roles: ['coordinator'], body: AddTeamMemberBody, params: withCase })
  addTeamMember(@CurrentActor() actor: Actor, @CurrentCommand() command: CommandContext, @ValidParam(caseId) id: string, @ValidBody() body: AddTeamMemberBody) {
    return this.run(actor, command, addTeamMember, body, id);
  }

  @WriteRoute('cases/:id/members/:agency/removal', {
    summary: 'Remove an agency from the case team',
    roles: ['coordinator'],
    body: RemoveTeamMemberBody,
    params: { ...withCase, agency: AgencyId },
  })
  removeTeamMember(
    @CurrentActor() actor: Actor,
    @CurrentCommand() command: CommandContext,
    @ValidParam(caseId) id: string,
    @ValidParam({ name: 'agency', schema: AgencyId }) agency: string,
    @ValidBody() body: z.output<typeof RemoveTeamMemberBody>,
  ) {
    return this.run(actor, command, removeTeamMember, { ...body, agency }, id);
  }

  @WriteRoute('cases/:id/decisions', { summary: 'Record a team decision', roles: ['operator'], body: RecordDecisionBody, params: withCase })
  recordDecision(@CurrentActor() actor: Actor, @CurrentCommand() command: CommandContext, @ValidParam(caseId) id: string, @ValidBody() body: RecordDecisionBody) {
    return this.run(actor, command, recordDecision, body, id);
  }

  @WriteRoute('cases/:id/plan/revisions', { summary: 'Draft a plan (PaIS) revision', roles: ['operator'], body: DraftPlanRevisionBody, params: withCase })
  draftPlanRevision(@CurrentActor() actor: Actor, @CurrentCommand() command: CommandContext, @ValidParam(caseId) id: string, @ValidBody() body: DraftPlanRevisionBody) {
    return this.run(actor, command, draftPlanRevision, body, id);
  }

  @WriteRoute('cases/:id/plan/revisions/:n/agreement', {
    summary: 'Record that the person agreed to (signed) a plan revision',
    roles: ['operator'],
    body: AgreePlanRevisionBody,
    params: { ...withCase, n: PlanRevisionNumber },
  })
  agreePlanRevision(
    @CurrentActor() actor: Actor,
    @CurrentCommand() command: CommandContext,
    @ValidParam(caseId) id: string,
    @ValidParam({ name: 'n', schema: PlanRevisionNumber }) planRevision: number,
    @ValidBody() body: z.output<typeof AgreePlanRevisionBody>,
  ) {
    return this.run(actor, command, agreePlanRevision, { ...body, planRevision }, id);
  }

  @WriteRoute('cases/:id/plan/revisions/:n/validation', {
    summary: 'Validate an agreed plan revision',
    roles: ['coordinator'],
    body: ValidatePlanRevisionBody,
    params: { ...withCase, n: PlanRevisionNumber },
  })
  validatePlanRevision(
    @CurrentActor() actor: Actor,
    @CurrentCommand() command: CommandContext,
    @ValidParam(caseId) id: string,
    @ValidParam({ name: 'n', schema: PlanRevisionNumber }) planRevision: number,
    @ValidBody() body: z.output<typeof ValidatePlanRevisionBody>,
  ) {
    return this.run(actor, command, validatePlanRevision, { ...body, planRevision }, id);
  }

  @WriteRoute('cases/:id/verifications', { summary: 'Record a verification of progress per objective', roles: ['operator'], body: RecordVerificationBody, params: withCase })
  recordVerification(@CurrentActor() actor: Actor, @CurrentCommand() command: CommandContext, @ValidParam(caseId) id: string, @ValidBody() body: RecordVerificationBody) {
    return this.run(actor, command, recordVerification, body, id);
  }

  @WriteRoute('cases/:id/non-compliance', { summary: 'Report non-compliance with the service pact', roles: ['operator'], body: ReportNonComplianceBody, params: withCase })
  reportNonCompliance(@CurrentActor() actor: Actor, @CurrentCommand() command: CommandContext, @ValidParam(caseId) id: string, @ValidBody() body: ReportNonComplianceBody) {
    return this.run(actor, command, reportNonCompliance, body, id);
  }

  @WriteRoute('cases/:id/outcomes', { summary: 'Record outcomes (scheda esito)', roles: ['operator'], body: RecordOutcomeBody, params: withCase })
  recordOutcome(@CurrentActor() actor: Actor, @CurrentCommand() command: CommandContext, @ValidParam(caseId) id: string, @ValidBody() body: RecordOutcomeBody) {
    return this.run(actor, command, recordOutcome, body, id);
  }

  @WriteRoute('cases/:id/notes', { summary: 'Record notes', roles: ['operator'], body: RecordNotesBody, params: withCase })
  recordNotes(@CurrentActor() actor: Actor, @CurrentCommand() command: CommandContext, @ValidParam(caseId) id: string, @ValidBody() body: RecordNotesBody) {
    return this.run(actor, command, recordNotes, body, id);
  }

  @WriteRoute('cases/:id/closure', { summary: 'Close the case', roles: ['coordinator'], body: CloseCaseBody, params: withCase })
  closeCase(@CurrentActor() actor: Actor, @CurrentCommand() command: CommandContext, @ValidParam(caseId) id: string, @ValidBody() body: CloseCaseBody) {
    return this.run(actor, command, closeCase, body, id);
  }

  @WriteRoute('cases/:id/reopening', { summary: 'Reopen a closed case', roles: ['coordinator'], body: ReopenCaseBody, params: withCase })
  reopenCase(@CurrentActor() actor: Actor, @CurrentCommand() command: CommandContext, @ValidParam(caseId) id: string, @ValidBody() body: ReopenCaseBody) {
    return this.run(actor, command, reopenCase, body, id);
  }
}

function accepted(result: CaseCommandResult): CommandAccepted {
  const body: CommandAccepted = { caseId: result.caseId, revision: Number(result.revision), position: Number(result.position.commit) };
  for (const event of result.events) {
    const data = event.data as { consentId?: string; planRevision?: number };
    if (event.type === 'ConsentRecorded') body.consentId = data.consentId;
    if (event.type === 'PlanRevisionDrafted') body.planRevision = data.planRevision;
  }
  return body;
}
