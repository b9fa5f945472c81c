import { addTeamMember } from './add-team-member';
import { agreePlanRevision } from './agree-plan-revision';
import type { CaseBehaviour } from './case-command';
import { closeCase } from './close-case';
import { draftPlanRevision } from './draft-plan-revision';
import { recordConsent } from './record-consent';
import { recordDecision } from './record-decision';
import { recordNotes } from './record-notes';
import { recordOutcome } from './record-outcome';
import { recordVerification } from './record-verification';
import { removeTeamMember } from './remove-team-member';
import { reopenCase } from './reopen-case';
import { reportNonCompliance } from './report-non-compliance';
import { submitReferral } from './submit-referral';
import { takeInCharge } from './take-in-charge';
import { validatePlanRevision } from './validate-plan-revision';
import { withdrawConsent } from './withdraw-consent';

/** Every case command of API.md "Case commands", in the order of the case's path: each is a route and a CommandBus handler. */
export const CASE_BEHAVIOURS: readonly CaseBehaviour[] = [
  submitReferral,
  recordConsent,
  withdrawConsent,
  takeInCharge,
  addTeamMember,
  removeTeamMember,
  recordDecision,
  draftPlanRevision,
  agreePlanRevision,
  validatePlanRevision,
  recordVerification,
  reportNonCompliance,
  recordOutcome,
  recordNotes,
  closeCase,
  reopenCase,
] as never;
