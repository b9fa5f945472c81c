import type { CaseEvent } from '../../events';
import { addTeamMember } from '../../src/case/add-team-member';
import { agreePlanRevision } from '../../src/case/agree-plan-revision';
import { closeCase } from '../../src/case/close-case';
import { draftPlanRevision } from '../../src/case/draft-plan-revision';
import { expireConsent } from '../../src/case/expire-consent';
import { recordConsent } from '../../src/case/record-consent';
import { recordDecision } from '../../src/case/record-decision';
import { recordNotes } from '../../src/case/record-notes';
import { recordOutcome } from '../../src/case/record-outcome';
import { recordVerification } from '../../src/case/record-verification';
import { removeTeamMember } from '../../src/case/remove-team-member';
import { reopenCase } from '../../src/case/reopen-case';
import { reportNonCompliance } from '../../src/case/report-non-compliance';
import { submitReferral } from '../../src/case/submit-referral';
import { takeInCharge } from '../../src/case/take-in-charge';
import { validatePlanRevision } from '../../src/case/validate-plan-revision';
import { withdrawConsent } from '../../src/case/withdraw-consent';
import { RuleViolation } from '../../src/errors';
import { CommandIds } from '../../src/ledger/command-ids';
import { AGENCIES, PERSON, PROTOCOL_TERMS, protocolFixture } from '../support/fixtures';
import { added, agreed, CONSENT_ID, closed, consented, drafted, inCharge, outcome, referred, validated } from '../support/builders';
import { given } from '../support/given-when-then';

const consent = consented({ validUntil: '2026-05-01T10:00:00Z' });
const serdAdded = added(AGENCIES.serd);

const referralBody = { person: PERSON, needs: ['employment' as const], urgency: 'urgent' as const };

describe('the case decider', () => {
  describe('submitting a referral', () => {
    it('opens a case whose id is derived from the command id', () => {
      given()
        .when(submitReferral, referralBody, { by: AGENCIES.serd })
        .then([
          {
            type: 'ReferralSubmitted',
            data: {
              caseId: new CommandIds('00000000-0000-4000-8000-000000000001').entity('case'),
              person: PERSON,
              needs: ['employment'],
              programmes: [],
              urgency: 'urgent',
              notes: [],
            },
          },
        ]);
    });

    it('is refused when the zone has no protocol in force', () => {
      given().when(submitReferral, referralBody, { protocol: null }).thenRule('protocol-not-in-force');
      given()
        .when(submitReferral, referralBody, { now: new Date('2030-02-05T12:00:00Z') })
        .thenRule('protocol-not-in-force');
    });

    it('is refused to an agency that is not a party of the protocol', () => {
      given().when(submitReferral, referralBody, { by: 'comune-altrove' }).thenRule('not-a-party');
    });

    it('counts protocol validity in Italian calendar days', () => {
      // 23:30 UTC on 4 Feb 2030 is already 5 Feb in Rome: the protocol has expired.
      given()
        .when(submitReferral, referralBody, { now: new Date('2030-02-04T23:30:00Z') })
        .thenRule('protocol-not-in-force');
      given()
        .when(submitReferral, referralBody, { now: new Date('2030-02-04T22:30:00Z') })
        .then((events) => expect(events).toHaveLength(1));
    });
  });

  describe('any command on a case', () => {
    it('answers not found for a case that does not exist', () => {
      given()
        .when(recordNotes, { notes: [{ category: 'common', text: 'x' }] })
        .thenNotFound();
    });

    it('answers not found, as for no case at all, to an agency the case does not exist for', () => {
      given(referred({ by: AGENCIES.sds }))
        .when(recordNotes, { notes: [{ category: 'common', text: 'x' }] }, { by: AGENCIES.uepe })
        .thenNotFound();
    });

    it('refuses a referrer that is not a full member', () => {
      given(referred({ by: AGENCIES.serd }))
        .when(recordNotes, { notes: [{ category: 'common', text: 'x' }] }, { by: AGENCIES.serd })
        .thenRule('not-a-member');
    });

    it('accepts the minimal team on every case of the zone', () => {
      given(referred())
        .when(recordNotes, { notes: [{ category: 'common', text: 'x' }] }, { by: AGENCIES.cpi })
        .then([{ type: 'NoteRecorded', data: { notes: [{ category: 'common', text: 'x' }] } }]);
    });

    it('refuses everything but reopening on a closed case', () => {
      const history = given(referred(), inCharge(), outcome(), closed());
      history.when(recordNotes, { notes: [{ category: 'common', text: 'x' }] }).thenRule('case-closed');
      history.when(recordOutcome, { outcomes: ['employment-contract'] }).thenRule('case-closed');
      history.when(reopenCase, {}).then([{ type: 'CaseReopened', data: { notes: [] } }]);
    });

    it('refuses a caller whose agency left the protocol at renewal', () => {
      const renewed = protocolFixture({ ...PROTOCOL_TERMS, parties: PROTOCOL_TERMS.parties.filter((p) => p.agency !== AGENCIES.cpi) });
      given(referred())
        .when(recordNotes, { notes: [{ category: 'common', text: 'x' }] }, { by: AGENCIES.cpi, protocol: renewed })
        .thenNotFound();
      given(referred(), { type: 'NoteRecorded', by: AGENCIES.cpi, data: { notes: [{ category: 'common', text: 'y' }] } })
        .when(recordNotes, { notes: [{ category: 'common', text: 'x' }] }, { by: AGENCIES.cpi, protocol: renewed })
        .thenRule('not-a-party');
    });
  });

  describe('authorisations', () => {
    const body = {
      grants: [{ agency: AGENCIES.mentalHealth, categories: ['health' as const] }],
      legalBasis: 'explicit-consent' as const,
      informativaVersion: 'v2025-01',
      collectedAt: '2025-06-01T10:00:00Z',
      validUntil: '2026-06-01T10:00:00Z',
    };

    it('records a consent with an id derived from the command', () => {
      given(referred())
        .when(recordConsent, body)
        .then((events) => {
          expect(events).toHaveLength(1);
          expect(events[0]).toMatchObject({
            type: 'ConsentRecorded',
            data: { grants: body.grants, consentId: new CommandIds('00000000-0000-4000-8000-000000000001').entity('consent') },
          });
        });
    });

    it('refuses a grant to an agency outside the protocol', () => {
      given(referred())
        .when(recordConsent, { ...body, grants: [{ agency: 'asl-altrove', categories: ['health'] }] })
        .thenRule('not-a-party');
    });

    it('refuses a consent whose validity has already passed', () => {
      given(referred())
        .when(recordConsent, { ...body, validUntil: '2025-06-01T12:00:00Z' })
        .thenRule('consent-expired');
    });

    it('refuses a consent collected in the future, beyond five minutes of clock skew', () => {
      given(referred())
        .when(recordConsent, { ...body, collectedAt: '2999-06-01T09:00:00Z', validUntil: undefined })
        .thenRule('consent-collected-later');
    });

    it('withdraws a consent once, and never an unknown one', () => {
      given(referred(), consent)
        .when(withdrawConsent, { consentId: CONSENT_ID })
        .then([{ type: 'ConsentWithdrawn', data: { consentId: CONSENT_ID, notes: [] } }]);
      given(referred(), consent, { type: 'ConsentWithdrawn', data: { consentId: CONSENT_ID, notes: [] } })
        .when(withdrawConsent, { consentId: CONSENT_ID })
        .thenRule('consent-already-withdrawn');
      given(referred()).when(withdrawConsent, { consentId: CONSENT_ID }).thenRule('unknown-consent');
    });

    it('withdraws a consent at any time: on a closed case, and while the protocol is not in force', () => {
      const withdrawn = [{ type: 'ConsentWithdrawn' as const, data: { consentId: CONSENT_ID, notes: [] } }];
      given(referred(), consent, inCharge(), outcome(), closed()).when(withdrawConsent, { consentId: CONSENT_ID }).then(withdrawn);
      // The protocol lapsed (its validity ended on 4 Feb 2030) before a renewal was signed.
      given(referred(), consent)
        .when(withdrawConsent, { consentId: CONSENT_ID }, { now: new Date('2030-02-05T12:00:00Z') })
        .then(withdrawn);
      // Still only a party's full member, and a case that exists for it.
      given(referred(), consent).when(withdrawConsent, { consentId: CONSENT_ID }, { by: 'comune-altrove' }).thenNotFound();
    });

    it('expires a consent only once its validity has passed, and only once', () => {
      const history = given(referred(), consent);
      expect(() => expireConsent(history.state, CONSENT_ID, new Date('2026-04-30T00:00:00Z'))).toThrow(RuleViolation);
      expect(expireConsent(history.state, CONSENT_ID, new Date('2026-05-01T10:00:00Z'))).toEqual([
        { type: 'ConsentExpired', data: { consentId: CONSENT_ID, validUntil: '2026-05-01T10:00:00Z' } },
      ]);
      const expired = given(referred(), consent, { type: 'ConsentExpired', data: { consentId: CONSENT_ID, validUntil: '2026-05-01T10:00:00Z' } });
      expect(() => expireConsent(expired.state, CONSENT_ID, new Date('2026-06-01T00:00:00Z'))).toThrow(expect.objectContaining({ rule: 'consent-expired' }));
      expired.when(withdrawConsent, { consentId: CONSENT_ID }).thenRule('consent-expired');
    });
  });

  describe('taking in charge and the team', () => {
    it('names the case manager, whose agency becomes a full member', () => {
      const body = { caseManager: { agency: AGENCIES.serd, operator: 'dr-bianchi' }, prevalentNeed: 'addiction' as const };
      given(referred())
        .when(takeInCharge, body)
        .then([{ type: 'CaseTakenInCharge', data: { ...body, notes: [] } }]);
      given(referred(), { type: 'CaseTakenInCharge', data: { ...body, notes: [] } })
        .when(recordNotes, { notes: [{ category: 'health', text: 'x' }] }, { by: AGENCIES.serd })
        .then((events) => expect(events).toHaveLength(1));
    });

    it('refuses a second taking in charge, a non-party case manager and a coordination body', () => {
      given(referred(), inCharge())
        .when(takeInCharge, { caseManager: { agency: AGENCIES.sds, operator: 'x' }, prevalentNeed: 'employment' })
        .thenRule('already-in-charge');
      given(referred())
        .when(takeInCharge, { caseManager: { agency: 'nobody', operator: 'x' }, prevalentNeed: 'employment' })
        .thenRule('not-a-party');
      given(referred())
        .when(takeInCharge, { caseManager: { agency: AGENCIES.coordination, operator: 'x' }, prevalentNeed: 'employment' })
        .thenRule('aggregates-only');
    });

    /** The person authorised SdS to receive health and judicial data: SdS may then be shown (and so ask about) SerD's and UEPE's membership. */
    const sdsAuthorised = consented({ consentId: CONSENT_ID, agency: AGENCIES.sds, categories: ['health', 'judicial'] });

    it('adds an extended-team member once', () => {
      given(referred(), inCharge(), sdsAuthorised)
        .when(addTeamMember, { agency: AGENCIES.serd, tier: 'extended' })
        .then([{ type: 'TeamMemberAdded', data: { member: { agency: AGENCIES.serd, tier: 'extended' }, notes: [] } }]);
      given(referred(), inCharge(), sdsAuthorised, serdAdded).when(addTeamMember, { agency: AGENCIES.serd, tier: 'extended' }).thenRule('already-member');
      given(referred(), inCharge()).when(addTeamMember, { agency: AGENCIES.cpi, tier: 'minimal' }).thenRule('already-member');
      given(referred(), inCharge()).when(addTeamMember, { agency: 'nobody', tier: 'extended' }).thenRule('not-a-party');
      given(referred(), inCharge()).when(addTeamMember, { agency: AGENCIES.coordination, tier: 'extended' }).thenRule('aggregates-only');
    });

    it('removes a team member, never a minimal-team agency nor one not on the team', () => {
      given(referred(), inCharge(), sdsAuthorised, serdAdded)
        .when(removeTeamMember, { agency: AGENCIES.serd })
        .then([{ type: 'TeamMemberRemoved', data: { agency: AGENCIES.serd, notes: [] } }]);
      given(referred(), inCharge()).when(removeTeamMember, { agency: AGENCIES.cpi }).thenRule('minimal-equipe-fixed');
      given(referred(), inCharge(), sdsAuthorised).when(removeTeamMember, { agency: AGENCIES.uepe }).thenRule('not-a-member-of-case');
      // An agency the protocol does not name (API.md: not-a-party), whatever the caller is authorised for.
      given(referred(), inCharge()).when(removeTeamMember, { agency: 'nobody' }).thenRule('not-a-party');
      given(referred(), inCharge(), sdsAuthorised).when(removeTeamMember, { agency: 'nobody' }).thenRule('not-a-party');
    });

    it("answers not-entitled, whether or not it is on the team, about an agency whose membership the caller's agency would not be shown", () => {
      // Health membership needs an authorisation to SdS (consentRequired); the CPI never receives health data.
      for (const team of [[], [serdAdded]]) {
        given(referred(), inCharge(), ...team)
          .when(addTeamMember, { agency: AGENCIES.serd, tier: 'extended' })
          .thenRule('not-entitled');
        given(referred(), inCharge(), ...team)
          .when(removeTeamMember, { agency: AGENCIES.serd })
          .thenRule('not-entitled');
        given(referred(), inCharge(), sdsAuthorised, ...team)
          .when(addTeamMember, { agency: AGENCIES.serd, tier: 'extended' }, { by: AGENCIES.cpi, roles: ['coordinator'] })
          .thenRule('not-entitled');
      }
      // Authorship does not count: SerD, having written in the case, may not probe its own kind.
      given(referred(), inCharge()).when(addTeamMember, { agency: AGENCIES.mentalHealth, tier: 'extended' }).thenRule('not-entitled');
    });

    it('records a decision whose participants are all parties', () => {
      const body = { decision: 'extend-equipe' as const, heldOn: '2025-06-01', participants: [AGENCIES.sds, AGENCIES.cpi, AGENCIES.sds] };
      given(referred())
        .when(recordDecision, body)
        .then([{ type: 'TeamDecisionRecorded', data: { ...body, participants: [AGENCIES.sds, AGENCIES.cpi], notes: [] } }]);
      given(referred())
        .when(recordDecision, { ...body, participants: ['nobody'] })
        .thenRule('not-a-party');
    });
  });

  describe('the plan', () => {
    const plan = {
      objectives: (drafted().data as { objectives: unknown }).objectives,
      interventions: (drafted().data as { interventions: Array<Record<string, unknown>> }).interventions,
      commitments: ['attend'],
    } as never;

    it('numbers revisions from 1, and only once the case is taken in charge', () => {
      given(referred()).when(draftPlanRevision, plan).thenRule('plan-before-taking-in-charge');
      given(referred(), inCharge())
        .when(draftPlanRevision, plan)
        .then((events) => expect(events[0]).toMatchObject({ data: { planRevision: 1 } }));
      given(referred(), inCharge(), drafted())
        .when(draftPlanRevision, plan)
        .then((events) => expect(events[0]).toMatchObject({ data: { planRevision: 2 } }));
    });

    it('refuses an intervention entrusted to an agency outside the protocol', () => {
      const bad = {
        ...(plan as object),
        interventions: [{ ...(drafted().data as { interventions: Array<Record<string, unknown>> }).interventions[0], responsibleAgency: 'nobody' }],
      } as never;
      given(referred(), inCharge()).when(draftPlanRevision, bad).thenRule('not-a-party');
    });

    it('validates a revision only after the person agreed to it, each once', () => {
      given(referred(), inCharge(), drafted()).when(validatePlanRevision, { planRevision: 1 }).thenRule('validation-before-agreement');
      given(referred(), inCharge(), drafted()).when(agreePlanRevision, { planRevision: 2, agreedOn: '2025-06-01' }).thenRule('unknown-plan-revision');
      given(referred(), inCharge(), drafted(), agreed()).when(agreePlanRevision, { planRevision: 1, agreedOn: '2025-06-01' }).thenRule('plan-revision-already-agreed');
      given(referred(), inCharge(), drafted(), agreed())
        .when(validatePlanRevision, { planRevision: 1 })
        .then([{ type: 'PlanRevisionValidated', data: { planRevision: 1, notes: [] } }]);
      given(referred(), inCharge(), drafted(), agreed(), validated()).when(validatePlanRevision, { planRevision: 1 }).thenRule('plan-revision-already-validated');
      given(referred(), inCharge()).when(validatePlanRevision, { planRevision: 1 }).thenRule('unknown-plan-revision');
    });

    it('activates the plan once a revision is agreed and validated', () => {
      expect(given(referred(), inCharge(), drafted(), agreed()).state.status).toBe('in-charge');
      expect(given(referred(), inCharge(), drafted(), agreed(), validated()).state.status).toBe('plan-active');
    });

    it('verifies progress only on objectives of an existing revision', () => {
      given(referred(), inCharge(), drafted())
        .when(recordVerification, { planRevision: 1, progress: [{ objectiveId: 'o1', status: 'in-progress' }] })
        .then((events) => expect(events[0]).toMatchObject({ type: 'VerificationRecorded' }));
      given(referred(), inCharge(), drafted())
        .when(recordVerification, { planRevision: 1, progress: [{ objectiveId: 'o9', status: 'achieved' }] })
        .thenRule('unknown-objective');
      given(referred(), inCharge())
        .when(recordVerification, { planRevision: 1, progress: [{ objectiveId: 'o1', status: 'achieved' }] })
        .thenRule('unknown-plan-revision');
    });
  });

  describe('non-compliance, outcomes and closure', () => {
    it('records non-compliance reported by the employment centre', () => {
      given(referred(), inCharge())
        .when(reportNonCompliance, { commitment: 'attend the CPI interviews' }, { by: AGENCIES.cpi })
        .then([{ type: 'NonComplianceReported', data: { commitment: { category: 'common', text: 'attend the CPI interviews' }, notes: [] } }]);
    });

    it('closes a case only after an outcome since it was opened or reopened', () => {
      given(referred(), inCharge()).when(closeCase, { reason: 'dropped-out' }).thenRule('closure-needs-outcome');
      given(referred(), inCharge(), outcome())
        .when(closeCase, { reason: 'objectives-achieved' })
        .then([{ type: 'CaseClosed', data: { reason: 'objectives-achieved', notes: [] } }]);
      given(referred(), inCharge(), outcome(), closed(), { type: 'CaseReopened', data: { notes: [] } })
        .when(closeCase, { reason: 'moved' })
        .thenRule('closure-needs-outcome');
    });

    it('reopens only a closed case, back to in-charge', () => {
      given(referred(), inCharge()).when(reopenCase, {}).thenRule('case-not-closed');
      expect(given(referred(), inCharge(), outcome(), closed(), { type: 'CaseReopened', data: { notes: [] } }).state.status).toBe('in-charge');
    });

    it('records several outcomes at once, each once', () => {
      given(referred())
        .when(recordOutcome, { outcomes: ['internship', 'training', 'internship'] })
        .then([{ type: 'OutcomeRecorded', data: { outcomes: ['internship', 'training'], notes: [] } } satisfies CaseEvent]);
    });
  });
});

describe('refusals decided on the caller\'s view (ENTITLEMENTS.md "Commands are decided on the caller\'s view")', () => {
  /** The CPI (common only) acts; each history exists with and without data the CPI may not see. */
  const cpi = { by: AGENCIES.cpi, roles: ['operator' as const, 'coordinator' as const] };
  const base = [referred({ by: AGENCIES.sds }), inCharge()];
  const sdsHealth = consented({ consentId: '1a1c2b1e-8f2a-4c55-9b1e-2f7d3c9a0b13', agency: AGENCIES.sds, categories: ['health'] });

  it('answers unknown-consent alike for an authorisation the caller may not see and for none', () => {
    const hidden = consented({ consentId: CONSENT_ID, agency: AGENCIES.sds, categories: ['health'] });
    given(...base)
      .when(withdrawConsent, { consentId: CONSENT_ID }, cpi)
      .thenRule('unknown-consent');
    given(...base, hidden)
      .when(withdrawConsent, { consentId: CONSENT_ID }, cpi)
      .thenRule('unknown-consent');
  });

  it('answers unknown-objective alike for an objective the caller may not see and for none', () => {
    const plan = drafted({ by: AGENCIES.sds });
    const withHealth = {
      ...plan,
      data: { ...(plan.data as object), objectives: [...(plan.data as { objectives: object[] }).objectives, { id: 'oh', dimension: 'addiction', description: 'x', term: 'long' }] },
    } as typeof plan;
    const verify = { planRevision: 1, progress: [{ objectiveId: 'oh', status: 'achieved' as const }] };
    given(...base, plan)
      .when(recordVerification, verify, cpi)
      .thenRule('unknown-objective');
    given(...base, withHealth)
      .when(recordVerification, verify, cpi)
      .thenRule('unknown-objective');
  });

  it('counts for closure-needs-outcome only the outcomes the caller sees', () => {
    given(...base)
      .when(closeCase, { reason: 'objectives-achieved' }, cpi)
      .thenRule('closure-needs-outcome');
    given(...base, outcome(['health-pathway']))
      .when(closeCase, { reason: 'objectives-achieved' }, cpi)
      .thenRule('closure-needs-outcome');
  });

  it('answers not-entitled alike whether a health service the caller may not see is on the team or not', () => {
    for (const history of [base, [...base, sdsHealth, added(AGENCIES.serd)]]) {
      given(...history)
        .when(addTeamMember, { agency: AGENCIES.serd, tier: 'extended' }, cpi)
        .thenRule('not-entitled');
      given(...history)
        .when(removeTeamMember, { agency: AGENCIES.serd }, cpi)
        .thenRule('not-entitled');
    }
  });

  it("answers not-entitled on the plan, whatever it holds, to a full member that does not receive common data (a revision's number and status are common)", () => {
    const noCommon = protocolFixture({
      ...PROTOCOL_TERMS,
      parties: PROTOCOL_TERMS.parties.map((p) => (p.agency === AGENCIES.cpi ? { ...p, receivable: ['judicial' as const] } : p)),
    });
    const asCpi = { ...cpi, protocol: noCommon };
    const plans = [base, [...base, drafted({ by: AGENCIES.sds })], [...base, drafted({ by: AGENCIES.sds }), agreed(1, AGENCIES.sds)]];
    const revision = { objectives: [{ id: 'o2', dimension: 'employment' as const, description: 'x', term: 'short' as const }], interventions: [], commitments: [] };
    for (const history of plans) {
      given(...history)
        .when(draftPlanRevision, revision, asCpi)
        .thenRule('not-entitled');
      given(...history)
        .when(agreePlanRevision, { planRevision: 1, agreedOn: '2025-06-01' }, asCpi)
        .thenRule('not-entitled');
      given(...history)
        .when(validatePlanRevision, { planRevision: 1 }, asCpi)
        .thenRule('not-entitled');
      given(...history)
        .when(recordVerification, { planRevision: 1, progress: [{ objectiveId: 'o1', status: 'achieved' }] }, asCpi)
        .thenRule('not-entitled');
    }
  });

  it('numbers plan revisions with no gap the caller could notice: every full member sees every number', () => {
    given(...base, drafted({ by: AGENCIES.serd }))
      .when(draftPlanRevision, { objectives: [{ id: 'o2', dimension: 'employment', description: 'x', term: 'short' }], interventions: [], commitments: [] }, cpi)
      .then((events) => expect((events[0]!.data as { planRevision: number }).planRevision).toBe(2));
  });
});
