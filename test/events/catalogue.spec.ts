import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ClassificationContext, classify, currentVersion, datumsOf, EVENT_TYPES, parseEventData, ReferralSubmittedV1, SIUSS_BENEFIT_CODES, upcast } from '../../events';

const ctx: ClassificationContext = {
  kindOf: (agency) =>
    ({ 'sds-valdinievole': 'social-services', 'arti-cpi-pescia': 'employment-centre', 'serd-valdinievole': 'addiction-services', 'uepe-pistoia': 'probation' })[agency] as never,
  objectiveCategories: (rev, id) => (rev === 1 && id === 'o-health' ? ['common', 'health'] : rev === 1 ? ['common'] : undefined),
};

const person = { fiscalCode: 'RSSMRA85T10A562S', givenName: 'Mario', familyName: 'Rossi', birthDate: '1985-12-10' };

describe('the event catalogue', () => {
  it('classifies every field of every event (the catalogue loads only if so)', () => {
    expect(EVENT_TYPES).toEqual(
      expect.arrayContaining([
        'ProtocolSigned',
        'ProtocolRenewed',
        'ReferralSubmitted',
        'ConsentRecorded',
        'ConsentWithdrawn',
        'ConsentExpired',
        'CaseTakenInCharge',
        'TeamMemberAdded',
        'TeamMemberRemoved',
        'TeamDecisionRecorded',
        'PlanRevisionDrafted',
        'PlanRevisionAgreed',
        'PlanRevisionValidated',
        'VerificationRecorded',
        'NonComplianceReported',
        'OutcomeRecorded',
        'NoteRecorded',
        'CaseClosed',
        'CaseReopened',
      ]),
    );
  });

  it('gives need codes, programme codes and notes their categories', () => {
    const data = parseEventData('ReferralSubmitted', {
      caseId: '6f1c2b1e-8f2a-4c55-9b1e-2f7d3c9a0b11',
      person,
      needs: ['employment', 'addiction', 'justice'],
      programmes: ['GOL-4', 'L68'],
      urgency: 'ordinary',
      notes: [{ category: 'health', text: 'in treatment' }],
    });
    const byPath = Object.fromEntries(classify({ type: 'ReferralSubmitted', data }, ctx).map((d) => [d.path.join('.'), d.categories]));
    expect(byPath).toEqual({
      caseId: [],
      person: ['common'],
      'needs.0': ['common'],
      'needs.1': ['health'],
      'needs.2': ['judicial'],
      'programmes.0': ['common'],
      'programmes.1': ['health'],
      urgency: ['common'],
      'notes.0': ['health'],
    });
  });

  it('gives a reference to an agency the membership category of its kind', () => {
    const data = parseEventData('TeamDecisionRecorded', {
      decision: 'extend-equipe',
      heldOn: '2025-03-01',
      participants: ['sds-valdinievole', 'serd-valdinievole', 'uepe-pistoia', 'unknown-agency'],
    });
    const categories = classify({ type: 'TeamDecisionRecorded', data }, ctx).map((d) => d.categories);
    expect(categories).toEqual([['common'], ['common'], ['common'], ['health'], ['judicial'], ['health', 'judicial', 'special']]);
  });

  it('classifies plan objectives, interventions and verification entries as ENTITLEMENTS.md says', () => {
    const plan = parseEventData('PlanRevisionDrafted', {
      planRevision: 1,
      objectives: [
        { id: 'o-work', dimension: 'employment', description: 'find work', term: 'short' },
        { id: 'o-health', dimension: 'addiction', description: 'keep the programme', term: 'long' },
      ],
      interventions: [
        { id: 'i1', code: 'A2.09', description: 'internship', responsibleAgency: 'arti-cpi-pescia', from: '2025-04-01' },
        { id: 'i2', code: 'A2.09', description: 'placement', responsibleAgency: 'serd-valdinievole', category: 'special', from: '2025-04-01' },
      ],
      commitments: [
        { category: 'common', text: 'attend the interviews' },
        { category: 'health', text: 'keep the appointments at SerD' },
      ],
    });
    const cats = classify({ type: 'PlanRevisionDrafted', data: plan }, ctx).map((d) => [d.path.join('.'), d.categories]);
    expect(cats).toEqual([
      // A plan revision's number is common: every full member takes part in the PaIS.
      ['planRevision', ['common']],
      ['objectives.0', ['common']],
      ['objectives.1', ['common', 'health']],
      ['interventions.0', ['common']],
      ['interventions.1', ['health', 'special']],
      ['commitments.0', ['common']],
      ['commitments.1', ['health']],
    ]);
    const verification = parseEventData('VerificationRecorded', {
      planRevision: 1,
      progress: [
        { objectiveId: 'o-work', status: 'in-progress' },
        { objectiveId: 'o-health', status: 'achieved' },
      ],
    });
    expect(classify({ type: 'VerificationRecorded', data: verification }, ctx).map((d) => d.categories)).toEqual([['common'], ['common'], ['common', 'health']]);
  });

  it('refuses unknown fields at every depth', () => {
    expect(() => parseEventData('CaseClosed', { reason: 'moved', extra: 1 })).toThrow();
    expect(() => parseEventData('NoteRecorded', { notes: [{ category: 'common', text: 'x', author: 'y' }] })).toThrow();
  });

  it('refuses in plan descriptions and an informativa version what notes and names refuse: control characters, bidirectional overrides', () => {
    const plan = (description: string) => ({
      planRevision: 1,
      objectives: [{ id: 'o1', dimension: 'employment', description, term: 'short' }],
      interventions: [],
      commitments: [],
    });
    expect(() => parseEventData('PlanRevisionDrafted', plan('find work\u0000'))).toThrow();
    expect(() => parseEventData('PlanRevisionDrafted', plan('find \u202ework'))).toThrow();
    expect(() => parseEventData('PlanRevisionDrafted', plan('find work,\nthen a home'))).not.toThrow();
    const intervention = (description: string) => ({
      planRevision: 1,
      objectives: [],
      interventions: [{ id: 'i1', code: 'A2.09', description, responsibleAgency: 'arti-cpi-pescia', from: '2025-04-01' }],
      commitments: [],
    });
    expect(() => parseEventData('PlanRevisionDrafted', intervention('internship\u0007'))).toThrow();
    const consent = (informativaVersion: string) => ({
      consentId: '6f1c2b1e-8f2a-4c55-9b1e-2f7d3c9a0b11',
      grants: [{ agency: 'sds-valdinievole', categories: ['health'] }],
      legalBasis: 'explicit-consent',
      informativaVersion,
      collectedAt: '2025-05-01T10:00:00.000Z',
    });
    expect(() => parseEventData('ConsentRecorded', consent('SILL-2025\n01'))).toThrow();
    expect(() => parseEventData('ConsentRecorded', consent('SILL-2025-01'))).not.toThrow();
  });

  it('lists only what is present, never absent optional fields', () => {
    const data = parseEventData('NonComplianceReported', {});
    expect(datumsOf({ type: 'NonComplianceReported', data })).toEqual([]);
  });
});

describe('event versioning', () => {
  it('brings a frozen ReferralSubmitted v1 (urgent flag) forward to the current shape', () => {
    expect(currentVersion('ReferralSubmitted')).toBe(2);
    const v1 = ReferralSubmittedV1.parse({
      caseId: '6f1c2b1e-8f2a-4c55-9b1e-2f7d3c9a0b11',
      person,
      needs: ['employment'],
      urgent: true,
    });
    const current = upcast('ReferralSubmitted', 1, v1);
    expect(parseEventData('ReferralSubmitted', current)).toMatchObject({ urgency: 'urgent', programmes: [], notes: [] });
    expect(current).not.toHaveProperty('urgent');
  });

  it('brings v1 free text forward as common notes: commitments, purposes and a broken commitment were bare strings', () => {
    expect(upcast('PlanRevisionDrafted', 1, { planRevision: 1, objectives: [], interventions: [], commitments: ['attend'], notes: [] })).toMatchObject({
      commitments: [{ category: 'common', text: 'attend' }],
    });
    expect(upcast('ConsentRecorded', 1, { purposes: ['job placement'] })).toMatchObject({ purposes: [{ category: 'common', text: 'job placement' }] });
    expect(upcast('NonComplianceReported', 1, { commitment: 'interviews', notes: [] })).toEqual({ commitment: { category: 'common', text: 'interviews' }, notes: [] });
    expect(upcast('NonComplianceReported', 1, { notes: [] })).toEqual({ notes: [] });
  });

  it('classifies a grant with the categories it grants beside its target: "health granted to SdS" is health data', () => {
    const consent = parseEventData('ConsentRecorded', {
      consentId: '6f1c2b1e-8f2a-4c55-9b1e-2f7d3c9a0b11',
      grants: [
        { agency: 'sds-valdinievole', categories: ['health'] },
        { agency: 'serd-valdinievole', categories: ['common'] },
      ],
      legalBasis: 'explicit-consent',
      informativaVersion: 'v1',
      collectedAt: '2025-05-01T10:00:00.000Z',
    });
    const grants = classify({ type: 'ConsentRecorded', data: consent }, ctx).filter((d) => d.kind === 'grant');
    expect(grants.map((d) => d.categories)).toEqual([
      ['common', 'health'],
      ['common', 'health'],
    ]);
  });

  it('leaves current versions untouched', () => {
    const data = { consentId: '6f1c2b1e-8f2a-4c55-9b1e-2f7d3c9a0b11', notes: [] };
    expect(upcast('ConsentWithdrawn', 1, data)).toBe(data);
  });
});

describe('reference code lists', () => {
  it('uses exactly the 36 SIUSS benefit codes of the reference list', () => {
    const csv = join(__dirname, '../../../shared/reference/siuss-codice-prestazione.csv');
    let codes: string[];
    try {
      codes = readFileSync(csv, 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[0]!);
    } catch {
      console.log(`skipped: ${csv} is not beside this clone`);
      return;
    }
    expect([...SIUSS_BENEFIT_CODES]).toEqual(codes);
    expect(codes).toHaveLength(36);
  });
});
