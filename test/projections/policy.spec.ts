import type { Category, ZoneProtocol } from '../../events';
import { agencyCaseView, caseFacts } from '../../projections/policy';
import { AGENCIES, PERSON, PROTOCOL_TERMS, protocolFixture } from '../support/fixtures';
import { added, CASE_ID, consented, type Given, inCharge, noted, outcome, referred, removed, withdrawn } from '../support/builders';
import { given } from '../support/given-when-then';
import { history } from '../support/ledger-history';

/** SerD's referral, with a health and a common note and a health programme (L68). */
const referral = (by: string = AGENCIES.serd) =>
  referred({
    by,
    programmes: ['GOL-4', 'L68'],
    notes: [
      { category: 'health', text: 'in treatment at SerD since 2023' },
      { category: 'common', text: 'looking for work in logistics' },
    ],
  });
const inChargeNeri = inCharge({ caseManager: { agency: AGENCIES.sds, operator: 'as-neri' } });
const consent = (consentId: string, agency: string, categories: Category[]) => consented({ consentId, agency, categories });

const C1 = '11111111-1111-4111-8111-111111111111';

const viewOf = (events: Given[], agency: string, protocol?: ZoneProtocol) => given(...events).seenBy(agency, { protocol });
const texts = (view: ReturnType<typeof viewOf>) => ((view?.view.notes ?? []) as Array<{ text: string }>).map((n) => n.text);

describe('the entitlement policy (ENTITLEMENTS.md)', () => {
  describe('when a case exists for an agency', () => {
    it('exists for the referrer, the minimal team, team members and authors; for nobody else', () => {
      const events = [referral(), inChargeNeri];
      expect(viewOf(events, AGENCIES.serd)).toBeDefined();
      expect(viewOf(events, AGENCIES.sds)).toBeDefined();
      expect(viewOf(events, AGENCIES.cpi)).toBeDefined();
      expect(viewOf(events, AGENCIES.uepe)).toBeUndefined();
      expect(viewOf([...events, added(AGENCIES.uepe)], AGENCIES.uepe)).toBeDefined();
    });

    it('never exists for a coordination body, which sees aggregates only', () => {
      expect(viewOf([referral(AGENCIES.sds)], AGENCIES.coordination)).toBeUndefined();
    });

    it('still exists for an agency removed from the team that had recorded data in it', () => {
      const events = [
        referral(AGENCIES.sds),
        added(AGENCIES.uepe),
        noted('judicial', 'sentence to serve until 2026', AGENCIES.uepe),
        { type: 'TeamMemberRemoved', data: { agency: AGENCIES.uepe, notes: [] } } as Given,
      ];
      const view = viewOf(events, AGENCIES.uepe);
      expect(texts(view)).toEqual(['sentence to serve until 2026']);
      expect(view!.view.person).toBeUndefined();
    });
  });

  it('shows every purpose of an authorisation it may see, as a list, each only where its category is visible', () => {
    const withPurposes: Given = {
      ...consent(C1, AGENCIES.sds, ['health']),
      data: {
        ...(consent(C1, AGENCIES.sds, ['health']).data as object),
        purposes: [
          { category: 'common', text: 'job placement' },
          { category: 'common', text: 'housing support' },
          { category: 'health', text: 'therapeutic pathway' },
        ],
      },
    } as Given;
    const events = [referral(AGENCIES.sds), inChargeNeri, withPurposes];
    const consentsOf = (agency: string) => viewOf(events, agency)!.view.consents as Array<{ purposes?: unknown }>;
    // SdS, authorised for health data, sees all three; the history agrees.
    expect(consentsOf(AGENCIES.sds)[0]!.purposes).toEqual([
      { category: 'common', text: 'job placement' },
      { category: 'common', text: 'housing support' },
      { category: 'health', text: 'therapeutic pathway' },
    ]);
  });

  it('shows the members in an order that a removal it may not see does not change', () => {
    // SdS, authorised for health data, adds SerD then Caritas, and the authorisation is then
    // withdrawn: SdS is shown SerD on the team only as the author of its addition (rule 1).
    const story = [
      referral(AGENCIES.cpi),
      consent(C1, AGENCIES.sds, ['health']),
      inChargeNeri,
      added(AGENCIES.serd, AGENCIES.sds),
      added(AGENCIES.ets, AGENCIES.sds),
      withdrawn(C1, AGENCIES.sds),
    ];
    const membersOf = (events: Given[]) => (viewOf(events, AGENCIES.sds)!.view.members as Array<{ agency: string }>).map((m) => m.agency);
    // SerD leaving the team is health data SdS may no longer see: its answer must not move.
    expect(membersOf([...story, removed(AGENCIES.serd, AGENCIES.serd)])).toEqual(membersOf(story));
    expect(membersOf([...story, removed(AGENCIES.serd, AGENCIES.serd), added(AGENCIES.serd, AGENCIES.serd)])).toEqual(membersOf(story));
    expect(membersOf(story)).toEqual([AGENCIES.sds, AGENCIES.cpi, AGENCIES.serd, AGENCIES.ets]);
  });

  describe('rule 1: an agency sees what it recorded', () => {
    it('shows SerD, a referrer outside the team, its own referral with its health notes', () => {
      const view = viewOf([referral(), inChargeNeri, noted('common', 'interview done', AGENCIES.cpi)], AGENCIES.serd)!;
      expect(view.view.person).toEqual(PERSON);
      expect(view.view.needs).toEqual(['employment', 'addiction']);
      expect(texts(view)).toEqual(['in treatment at SerD since 2023', 'looking for work in logistics']);
      expect(view.view.caseManager).toBeUndefined();
      expect(view.disclosure.basis).toEqual(['authored']);
    });
  });

  describe('the team as an agency may see it', () => {
    // The CPI added SerD (rule 1: it sees its addition); SdS's removal of SerD is health data the CPI does not receive.
    const before = [referral(AGENCIES.sds), inChargeNeri, added(AGENCIES.serd, AGENCIES.cpi)];
    const seen = (events: Given[]) => {
      const view = viewOf(events, AGENCIES.cpi)!;
      return { members: view.view.members, history: view.history.map((h) => h.type), owners: view.disclosure.owners };
    };

    it('is not changed by a removal the agency may not see', () => {
      expect(seen(before).members).toContainEqual({ agency: AGENCIES.serd, tier: 'extended' });
      expect(seen([...before, removed(AGENCIES.serd, AGENCIES.sds)])).toEqual(seen(before));
      expect(seen([...before, removed(AGENCIES.serd, AGENCIES.sds), added(AGENCIES.serd, AGENCIES.sds)])).toEqual(seen(before));
    });

    it('shows a removal the agency may see', () => {
      expect(seen([...before, removed(AGENCIES.serd, AGENCIES.cpi)]).members).not.toContainEqual(expect.objectContaining({ agency: AGENCIES.serd }));
    });
  });

  describe('rule 2: an agency sees references to itself', () => {
    it('shows UEPE on the team although judicial data needs consent, and not SerD', () => {
      const view = viewOf([referral(AGENCIES.sds), inChargeNeri, added(AGENCIES.serd), added(AGENCIES.uepe)], AGENCIES.uepe)!;
      expect(view.view.members).toEqual([
        { agency: AGENCIES.sds, tier: 'minimal' },
        { agency: AGENCIES.cpi, tier: 'minimal' },
        { agency: AGENCIES.uepe, tier: 'extended' },
      ]);
    });
  });

  describe('rule 3: full members, receivable categories and consent', () => {
    it('hides SerD membership from the employment centre', () => {
      const view = viewOf([referral(AGENCIES.sds), inChargeNeri, added(AGENCIES.serd)], AGENCIES.cpi)!;
      expect((view.view.members as Array<{ agency: string }>).map((m) => m.agency)).toEqual([AGENCIES.sds, AGENCIES.cpi]);
      expect(view.history.map((h) => h.type)).toEqual(['ReferralSubmitted', 'CaseTakenInCharge']);
    });

    it('lets a common note written by SerD reach the CPI without its author', () => {
      const view = viewOf([referral(AGENCIES.sds), inChargeNeri, added(AGENCIES.serd), noted('common', 'available mornings only', AGENCIES.serd)], AGENCIES.cpi)!;
      const notes = view.view.notes as Array<Record<string, unknown>>;
      expect(notes.find((n) => n.text === 'available mornings only')).toEqual({
        category: 'common',
        text: 'available mornings only',
        at: expect.any(String),
      });
      const entry = view.history.find((h) => h.type === 'NoteRecorded')!;
      expect(entry.agency).toBeUndefined();
      expect(entry.operator).toBeUndefined();
      expect(view.disclosure.owners).toContainEqual({ agency: AGENCIES.serd, categories: ['common'], basis: ['full-member'] });
    });

    it('shows the CPI only common data: no health needs, programmes or notes', () => {
      const view = viewOf([referral(), inChargeNeri], AGENCIES.cpi)!;
      expect(view.view.needs).toEqual(['employment']);
      expect(view.view.programmes).toEqual(['GOL-4']);
      expect(texts(view)).toEqual(['looking for work in logistics']);
      expect(view.view.referrer).toBeUndefined();
      expect(view.disclosure.categories).toEqual(['common']);
    });

    it('keeps health data from social services until the person authorises it (consentRequired)', () => {
      const without = viewOf([referral(), inChargeNeri], AGENCIES.sds)!;
      expect(without.view.needs).toEqual(['employment']);
      const withConsent = viewOf([referral(), inChargeNeri, consent(C1, AGENCIES.sds, ['health'])], AGENCIES.sds)!;
      expect(withConsent.view.needs).toEqual(['employment', 'addiction']);
      expect(withConsent.view.referrer).toBe(AGENCIES.serd);
      expect(withConsent.disclosure.basis).toEqual(expect.arrayContaining(['full-member', `consent:${C1}`]));
    });

    it('gives nothing consent cannot give: a category the protocol does not let the agency receive', () => {
      const view = viewOf([referral(), inChargeNeri, consent(C1, AGENCIES.cpi, ['health'])], AGENCIES.cpi)!;
      expect(view.view.needs).toEqual(['employment']);
    });

    it('follows a protocol that narrows what a party receives', () => {
      const narrowed = protocolFixture({
        ...PROTOCOL_TERMS,
        parties: PROTOCOL_TERMS.parties.map((p) => (p.agency === AGENCIES.sds ? { ...p, receivable: ['common' as const] } : p)),
      });
      const view = viewOf([referral(), inChargeNeri, consent(C1, AGENCIES.sds, ['health'])], AGENCIES.sds, narrowed)!;
      expect(view.view.needs).toEqual(['employment']);
    });

    it('hides again, from then on, what a withdrawn authorisation had shown', () => {
      const shown = [referral(), inChargeNeri, added(AGENCIES.mentalHealth), consent(C1, AGENCIES.mentalHealth, ['health'])];
      expect(texts(viewOf(shown, AGENCIES.mentalHealth))).toContain('in treatment at SerD since 2023');
      const hidden = viewOf([...shown, withdrawn(C1)], AGENCIES.mentalHealth)!;
      expect(texts(hidden)).toEqual(['looking for work in logistics']);
      expect(hidden.view.needs).toEqual(['employment']);
    });

    it('shows earlier data once an authorisation is granted later', () => {
      const events = [referral(), inChargeNeri, added(AGENCIES.mentalHealth), noted('health', 'psychiatric assessment booked', AGENCIES.serd)];
      expect(texts(viewOf(events, AGENCIES.mentalHealth))).not.toContain('psychiatric assessment booked');
      expect(texts(viewOf([...events, consent(C1, AGENCIES.mentalHealth, ['health'])], AGENCIES.mentalHealth))).toContain('psychiatric assessment booked');
    });

    it('treats an expired authorisation like a withdrawn one', () => {
      const events = [referral(), inChargeNeri, added(AGENCIES.mentalHealth), consent(C1, AGENCIES.mentalHealth, ['health'])];
      const expired = viewOf([...events, { type: 'ConsentExpired', by: 'ledger', data: { consentId: C1, validUntil: '2025-06-05T00:00:00.000Z' } }], AGENCIES.mentalHealth)!;
      expect(expired.view.needs).toEqual(['employment']);
      expect((expired.view.consents as Array<{ status: string }>)[0]!.status).toBe('expired');
    });

    it('shows a datum with several categories only where every one of them is visible', () => {
      const plan: Given = {
        type: 'PlanRevisionDrafted',
        data: {
          planRevision: 1,
          objectives: [{ id: 'o1', dimension: 'employment', description: 'internship', term: 'short' }],
          interventions: [
            { id: 'i1', code: 'A2.09', description: 'tirocinio', responsibleAgency: AGENCIES.cpi, from: '2025-07-01' },
            { id: 'i2', code: 'A2.09', description: 'inserimento socio-terapeutico', responsibleAgency: AGENCIES.serd, from: '2025-07-01' },
          ],
          commitments: [],
          notes: [],
        },
      };
      const cpi = viewOf([referral(), inChargeNeri, plan], AGENCIES.cpi)!;
      const revision = (cpi.view.plan as { revisions: Array<{ interventions: Array<{ id: string }> }> }).revisions[0]!;
      expect(revision.interventions.map((i) => i.id)).toEqual(['i1']);
    });
  });

  describe("the referrer's feedback", () => {
    it('shows a referrer outside the team the common outcome codes, and nothing else of others', () => {
      const view = viewOf(
        [referral(), inChargeNeri, noted('common', 'interview done', AGENCIES.cpi), outcome(['employment-contract', 'health-pathway'], AGENCIES.cpi)],
        AGENCIES.serd,
      )!;
      expect(view.view.outcomes).toEqual([{ outcomes: ['employment-contract'], recordedAt: expect.any(String) }]);
      expect(texts(view)).not.toContain('interview done');
      expect(view.disclosure.basis).toEqual(['authored', 'referrer-feedback']);
    });
  });

  describe('history', () => {
    it('lists entries with anything visible, their data cut to what is visible', () => {
      const view = viewOf([referral(), inChargeNeri], AGENCIES.cpi)!;
      const referralEntry = view.history[0]!;
      expect(referralEntry).toMatchObject({ type: 'ReferralSubmitted', position: '10' });
      expect(referralEntry.agency).toBeUndefined();
      expect(referralEntry.data).toEqual({
        caseId: CASE_ID,
        person: PERSON,
        needs: ['employment'],
        programmes: ['GOL-4'],
        urgency: 'ordinary',
        notes: [{ category: 'common', text: 'looking for work in logistics' }],
      });
    });

    it('does not reveal the withdrawal of an authorisation the agency could not see', () => {
      const view = viewOf([referral(), inChargeNeri, consent(C1, AGENCIES.mentalHealth, ['health']), withdrawn(C1)], AGENCIES.cpi)!;
      expect(view.history.map((h) => h.type)).toEqual(['ReferralSubmitted', 'CaseTakenInCharge']);
    });
  });

  describe('as of an instant', () => {
    it('applies the state at T to the data up to T: what mental health saw before the withdrawal', () => {
      const entries = history(referral(), inChargeNeri, added(AGENCIES.mentalHealth), consent(C1, AGENCIES.mentalHealth, ['health']), withdrawn(C1));
      const before = agencyCaseView(caseFacts(CASE_ID, entries, protocolFixture(), entries[3]!.at), AGENCIES.mentalHealth)!;
      const after = agencyCaseView(caseFacts(CASE_ID, entries, protocolFixture()), AGENCIES.mentalHealth)!;
      expect(before.view.needs).toEqual(['employment', 'addiction']);
      expect(before.view.revision).toBe(3);
      expect(after.view.needs).toEqual(['employment']);
    });
  });
});
