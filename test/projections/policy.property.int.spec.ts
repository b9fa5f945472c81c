import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AgencyKind,
  type CaseEvent,
  type Category,
  caseStream,
  type ClassificationContext,
  classify,
  datumsOf,
  MEMBERSHIP_CATEGORY,
  needCategory,
  type ZoneProtocol,
} from '../../events';
import { ProjectionRunner } from '../../projections/projection-runner';
import { agencyCaseHistory, agencyCaseView, caseFacts, type LedgerEntry } from '../../projections/policy';
import { addTeamMember } from '../../src/case/add-team-member';
import { agreePlanRevision } from '../../src/case/agree-plan-revision';
import { type CaseState, EMPTY_CASE, evolve } from '../../events';
import { closeCase } from '../../src/case/close-case';
import type { z } from 'zod';
import { type Decides, routedInput, type SentInput } from '../support/decide';
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
import { CommandIds } from '../../src/ledger/command-ids';
import { AGENCIES, PERSON, PROTOCOL_TERMS, protocolFixture, ZONE } from '../support/fixtures';
import { sealedLedger } from '../support/keys';

/*
 * Property-based tests of the policy and the projections (issue: "for random valid histories,
 * the projected view of every agency equals the policy applied to the whole history, and no
 * view ever holds a datum the policy denies"). Histories are made by random commands run
 * through the real decider, so every history is one the service could have written. The
 * "denies" check uses an oracle written here, separately, from ENTITLEMENTS.md.
 */

const PARTIES = PROTOCOL_TERMS.parties.map((p) => p.agency);
const MEMBERS_TO_ADD = [AGENCIES.serd, AGENCIES.mentalHealth, AGENCIES.uepe, AGENCIES.ets];
const CATEGORIES: Category[] = ['common', 'special', 'health', 'judicial'];
const NEEDS = ['employment', 'training', 'housing', 'addiction', 'mental-health', 'disability', 'justice'] as const;

type Step = { kind: number; agency: number; other: number; category: number; need: number; pick: number };
// Kinds weighted so that histories go far: taking in charge and plans come often enough.
const KINDS = [0, 1, 2, 3, 4, 4, 5, 5, 6, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 13, 14, 15, 16];
const step = fc.record({ kind: fc.constantFrom(...KINDS), agency: fc.nat(9), other: fc.nat(6), category: fc.nat(3), need: fc.nat(6), pick: fc.nat(9) });

const protocolVariant = fc.record({
  consentRequired: fc.subarray(['special', 'health', 'judicial'] as Category[]),
  narrowed: fc.array(fc.tuple(fc.nat(6), fc.subarray(CATEGORIES)), { maxLength: 3 }),
});

function protocolOf(variant: { consentRequired: Category[]; narrowed: Array<[number, Category[]]> }): ZoneProtocol {
  const receivable = new Map(variant.narrowed.map(([i, cats]) => [PARTIES[i]!, cats]));
  const terms = {
    ...PROTOCOL_TERMS,
    consentRequired: variant.consentRequired,
    parties: PROTOCOL_TERMS.parties.map((p) => (receivable.has(p.agency) ? { ...p, receivable: receivable.get(p.agency) } : p)),
  };
  return protocolFixture(terms);
}

/** Runs random steps through the decider; refused commands are skipped, as the service would refuse them. */
function historyOf(steps: Step[], protocol: ZoneProtocol): LedgerEntry[] {
  const entries: LedgerEntry[] = [];
  let state: CaseState = EMPTY_CASE;
  let n = 0;
  const noteText = () => `note-${++n}-${Math.random().toString(36).slice(2, 8)}`;
  const at = (i: number) => new Date(Date.UTC(2025, 5, 2, 9, i)).toISOString();
  const consentIds = () => [...state.consents.keys()];
  const run = <B extends z.ZodType, I>(agency: string, behaviour: Decides<B, I>, sent: SentInput<B, I>) => {
    const decision = behaviour.decide;
    const now = new Date(Date.UTC(2025, 5, 2, 9, entries.length));
    let events: CaseEvent[];
    try {
      events = decision(state, routedInput(behaviour, sent), {
        actor: { zone: ZONE, agency, operator: `op-${agency}`, roles: ['operator', 'coordinator'] },
        now,
        protocol,
        ids: new CommandIds(`00000000-0000-4000-8000-${String(entries.length).padStart(12, '0')}`),
      });
    } catch {
      return;
    }
    for (const event of events) {
      entries.push({
        position: String(entries.length + 2),
        revision: entries.length,
        type: event.type,
        data: event.data,
        agency,
        operator: `op-${agency}`,
        at: at(entries.length),
      });
      state = evolve(state, event, { agency });
    }
  };
  // Every history starts with a referral by a random party.
  run(PARTIES[(steps[0]?.agency ?? 0) % PARTIES.length]!, submitReferral, {
    person: PERSON,
    needs: [NEEDS[steps[0]?.need ?? 0]!, 'employment'],
    programmes: steps[0]?.pick ? ['GOL-4', 'L68'] : ['GOL-1'],
    notes: [{ category: CATEGORIES[steps[0]?.category ?? 0]!, text: noteText() }],
  });
  for (const s of steps) {
    // Mostly a full member acts (others are refused, which the decider specs cover), sometimes anyone.
    const members = [AGENCIES.sds, AGENCIES.cpi, ...state.team.keys(), ...(state.caseManagerAgency ? [state.caseManagerAgency] : [])];
    const agency = s.agency < 7 ? members[s.pick % members.length]! : PARTIES[s.other]!;
    const other = PARTIES[s.other]!;
    const category = CATEGORIES[s.category]!;
    const need = NEEDS[s.need]!;
    switch (s.kind) {
      case 0:
      case 1:
        run(agency, recordNotes, { notes: [{ category, text: noteText() }] });
        break;
      case 2:
        run(agency, recordConsent, {
          grants: [{ agency: other, categories: [category, CATEGORIES[(s.category + s.pick) % 4]!] }],
          legalBasis: 'explicit-consent',
          informativaVersion: 'v1',
          collectedAt: '2025-06-01T00:00:00Z',
          validUntil: s.pick % 3 === 0 ? '2025-06-02T12:00:00Z' : undefined,
          notes: [{ category, text: noteText() }],
        });
        break;
      case 3: {
        const ids = consentIds();
        if (ids.length) run(agency, withdrawConsent, { consentId: ids[s.pick % ids.length]! });
        break;
      }
      case 4:
        run(agency, takeInCharge, { caseManager: { agency: other, operator: `cm-${other}` }, prevalentNeed: need });
        break;
      case 5:
        run(agency, addTeamMember, { agency: MEMBERS_TO_ADD[s.pick % MEMBERS_TO_ADD.length]!, tier: 'extended', notes: [{ category, text: noteText() }] });
        break;
      case 6:
        run(agency, removeTeamMember, { agency: MEMBERS_TO_ADD[s.pick % MEMBERS_TO_ADD.length]! });
        break;
      case 7:
        run(agency, recordDecision, { decision: 'extend-equipe', heldOn: '2025-06-02', participants: [agency, other] });
        break;
      case 8:
        run(agency, draftPlanRevision, {
          objectives: [
            { id: 'o1', dimension: need, description: noteText(), term: 'short' },
            { id: 'o2', dimension: 'employment', description: noteText(), term: 'long' },
          ],
          interventions: [
            {
              id: 'i1',
              code: 'A2.09',
              description: noteText(),
              responsibleAgency: other,
              category: s.pick % 2 ? category : undefined,
              from: '2025-07-01',
              programme: s.pick % 4 === 0 ? 'L68' : undefined,
            },
          ],
          commitments: [noteText()],
        });
        break;
      case 9:
        run(agency, agreePlanRevision, { planRevision: 1 + (s.pick % 3 === 0 ? 1 : 0), agreedOn: '2025-06-03' });
        break;
      case 10:
        run(agency, validatePlanRevision, { planRevision: 1 + (s.pick % 3 === 0 ? 1 : 0) });
        break;
      case 11:
        run(agency, recordVerification, { planRevision: 1, progress: [{ objectiveId: s.pick % 2 ? 'o1' : 'o2', status: 'in-progress' }] });
        break;
      case 12:
        run(agency, reportNonCompliance, s.pick % 2 ? { commitment: noteText() } : {});
        break;
      case 13:
        run(agency, recordOutcome, { outcomes: s.pick % 2 ? ['health-pathway', 'internship'] : ['employment-contract'] });
        break;
      case 14:
        run(agency, closeCase, { reason: 'objectives-achieved' });
        break;
      case 15:
        run(agency, reopenCase, {});
        break;
      case 16: {
        const due = [...state.consents.entries()].find(([, c]) => c.status === 'active' && c.validUntil);
        if (due) {
          const events = expireConsent(state, due[0], new Date('2025-06-03T00:00:00Z'));
          for (const event of events) {
            entries.push({
              position: String(entries.length + 2),
              revision: entries.length,
              type: event.type,
              data: event.data,
              agency: 'ledger',
              operator: 'ledger:consent-expiry',
              at: at(entries.length),
            });
            state = evolve(state, event, { agency: 'ledger' });
          }
        }
        break;
      }
    }
  }
  return entries;
}

/* ----------------------------------------------------------------------------------------------
 * The oracle: ENTITLEMENTS.md read again, independently of projections/policy.
 * -------------------------------------------------------------------------------------------- */
interface World {
  exists(agency: string): boolean;
  allows(agency: string, d: { kind: string; value: unknown; categories: readonly Category[]; author: string }): boolean;
  authorShown(agency: string, author: string): boolean;
}

function world(entries: LedgerEntry[], protocol: ZoneProtocol): World {
  const kindOf = (a: string): AgencyKind | undefined => protocol.kinds.get(a);
  const party = (a: string) => protocol.current.parties.find((p) => p.agency === a);
  let referrer: string | undefined;
  let caseManager: string | undefined;
  const team = new Set<string>();
  const authors = new Set<string>();
  const consents = new Map<string, { grants: Array<{ agency: string; categories: Category[] }>; active: boolean }>();
  for (const e of entries) {
    authors.add(e.agency);
    const d = e.data as never as Record<string, any>;
    if (e.type === 'ReferralSubmitted') referrer = e.agency;
    if (e.type === 'CaseTakenInCharge') caseManager = d.caseManager.agency;
    if (e.type === 'TeamMemberAdded') team.add(d.member.agency);
    if (e.type === 'TeamMemberRemoved') team.delete(d.agency);
    if (e.type === 'ConsentRecorded') consents.set(d.consentId, { grants: d.grants, active: true });
    if (e.type === 'ConsentWithdrawn' || e.type === 'ConsentExpired') consents.get(d.consentId)!.active = false;
  }
  const member = (a: string) => team.has(a) || caseManager === a || party(a)?.minimalEquipe === true;
  const exists = (a: string) => kindOf(a) !== 'coordination' && (member(a) || referrer === a || authors.has(a));
  const granted = (a: string, c: Category) => [...consents.values()].some((k) => k.active && k.grants.some((g) => g.agency === a && g.categories.includes(c)));
  const rule3 = (a: string, categories: readonly Category[]) =>
    member(a) && categories.every((c) => (party(a)?.receivable ?? []).includes(c) && (!protocol.current.consentRequired.includes(c) || granted(a, c)));
  return {
    exists,
    allows(a, d) {
      if (!exists(a)) return false;
      if (d.author === a) return true;
      const ref = d.kind === 'agency-ref' || d.kind === 'grant' ? (typeof d.value === 'string' ? d.value : (d.value as { agency: string }).agency) : undefined;
      if (ref === a) return true;
      if (rule3(a, d.categories)) return true;
      return referrer === a && !member(a) && d.kind === 'outcome' && d.categories.length === 1 && d.categories[0] === 'common';
    },
    authorShown(a, author) {
      if (author === a) return true;
      const kind = kindOf(author);
      return exists(a) && rule3(a, kind ? [MEMBERSHIP_CATEGORY[kind]] : ['special', 'health', 'judicial']);
    },
  };
}

function classified(entries: LedgerEntry[], protocol: ZoneProtocol) {
  const objectives = new Map<string, Category[]>();
  for (const e of entries) {
    if (e.type === 'PlanRevisionDrafted') {
      const d = e.data as { planRevision: number; objectives: Array<{ id: string; dimension: (typeof NEEDS)[number] }> };
      for (const o of d.objectives) objectives.set(`${d.planRevision}/${o.id}`, [...new Set<Category>(['common', needCategory(o.dimension)])].sort());
    }
  }
  const ctx: ClassificationContext = { kindOf: (a) => protocol.kinds.get(a), objectiveCategories: (r, id) => objectives.get(`${r}/${id}`) };
  return entries.map((e) => classify({ type: e.type, data: e.data } as CaseEvent, ctx).map((d) => ({ ...d, author: e.agency })));
}

const AGENCIES_TO_CHECK = [...PARTIES];

describe('the policy on random histories', () => {
  it('never shows an agency a datum ENTITLEMENTS.md denies it, nor the author of one it may not know', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 3, maxLength: 40 }), protocolVariant, (steps, variant) => {
        const protocol = protocolOf(variant);
        const entries = historyOf(steps, protocol);
        const oracle = world(entries, protocol);
        const data = classified(entries, protocol);
        const facts = caseFacts('6f1c2b1e-8f2a-4c55-9b1e-2f7d3c9a0b11', entries, protocol);
        for (const agency of AGENCIES_TO_CHECK) {
          const result = agencyCaseView(facts, agency);
          expect(result !== undefined).toBe(oracle.exists(agency));
          if (!result) continue;
          for (const item of agencyCaseHistory(facts, agency)!.items) {
            const index = entries.findIndex((e) => e.position === item.position);
            if (item.agency) expect(oracle.authorShown(agency, item.agency)).toBe(true);
            for (const shown of datumsOf({ type: item.type, data: item.data } as CaseEvent)) {
              if (shown.kind === 'none') continue;
              const origin = data[index]!.filter((d) => d.path[0] === shown.path[0] && JSON.stringify(d.value) === JSON.stringify(shown.value));
              expect({ agency, type: item.type, path: shown.path, allowed: origin.some((d) => oracle.allows(agency, d)) }).toEqual({
                agency,
                type: item.type,
                path: shown.path,
                allowed: true,
              });
            }
          }
          // Free texts are unique: a denied one must appear nowhere in the view.
          const json = JSON.stringify(result.view);
          for (const d of data.flat()) {
            if (d.kind !== 'note' || oracle.allows(agency, d)) continue;
            expect({ agency, leaked: json.includes((d.value as { text: string }).text) }).toEqual({ agency, leaked: false });
          }
          // Every allowed note is shown.
          for (const d of data.flat()) if (d.kind === 'note' && oracle.allows(agency, d)) expect(json).toContain((d.value as { text: string }).text);
          // An agency none of whose references the agency may see is never named.
          for (const other of PARTIES) {
            if (other === agency) continue;
            const refs = data.flat().filter((d) => (d.kind === 'agency-ref' || d.kind === 'grant' || d.kind === 'intervention') && JSON.stringify(d.value).includes(`"${other}"`));
            const authored = entries.some((e) => e.agency === other && oracle.authorShown(agency, other));
            if (refs.every((d) => !oracle.allows(agency, d)) && !authored && !protocol.current.parties.find((p) => p.agency === other)?.minimalEquipe) {
              expect({ agency, other, named: json.includes(`"${other}"`) }).toEqual({ agency, other, named: false });
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('projects, through the store and the runner, exactly the policy applied to the whole history', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 3, maxLength: 25 }), protocolVariant, fc.integer({ min: 1, max: 40 }), async (steps, variant, batchSize) => {
        const protocol = protocolOf(variant);
        const entries = historyOf(steps, protocol);
        const caseId = (entries[0]!.data as { caseId: string }).caseId;
        const dir = mkdtempSync(join(tmpdir(), 'ledger-prop-'));
        const { store, models } = sealedLedger(join(dir, 'ledger.db'), join(dir, 'views.db'), { pollIntervalMs: 5 });
        try {
          await store.append(
            'protocol-valdinievole',
            [
              {
                id: '00000000-0000-4000-8000-000000000000',
                type: 'ProtocolSigned',
                data: protocol.current,
                metadata: {
                  zone: ZONE,
                  agency: AGENCIES.sds,
                  operator: 'admin',
                  occurredAt: '2025-06-01T00:00:00.000Z',
                  commandId: '00000000-0000-4000-8000-000000000000',
                  correlationId: 'p',
                },
              },
            ],
            'no-stream',
          );
          const runner = new ProjectionRunner(store, models, { batchSize });
          runner.start();
          for (const [i, e] of entries.entries()) {
            await store.append(
              caseStream(ZONE, caseId),
              [
                {
                  id: new CommandIds(caseId).event(i),
                  type: e.type,
                  data: e.data,
                  metadata: { zone: ZONE, agency: e.agency, operator: e.operator, occurredAt: e.at, commandId: new CommandIds(caseId).entity(`c${i}`), correlationId: 'p' },
                },
              ],
              i === 0 ? 'no-stream' : BigInt(i - 1),
            );
          }
          await runner.runUntilCaughtUp();
          const projectedEntries = models.ledger.caseEntries(ZONE, caseId);
          const expected = caseFacts(caseId, projectedEntries, protocol);
          for (const agency of AGENCIES_TO_CHECK) {
            const row = models.cases.partition({ zone: ZONE, agency }).get(caseId);
            const direct = agencyCaseView(expected, agency);
            expect(row?.view).toEqual(direct?.view);
            const ledger = models.cases.partition({ zone: ZONE, agency }).ledgerOf(caseId);
            const history = ledger && agencyCaseHistory(caseFacts(caseId, ledger.entries, ledger.protocol), agency);
            expect(history?.items).toEqual(agencyCaseHistory(expected, agency)?.items);
          }
        } finally {
          models.close();
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 40 },
    );
  });
});
