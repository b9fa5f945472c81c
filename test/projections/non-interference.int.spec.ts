import fc from 'fast-check';
import type { z } from 'zod';
import { type CaseEvent, type CaseState, caseStream, type Category, EMPTY_CASE, evolve, existsFor, type Need, protocolStream, type ZoneProtocol } from '../../events';
import { ProjectionRunner } from '../../projections/projection-runner';
import { activityReport } from '../../projections/read-models';
import { type Actor } from '../../src/access/actor';
import { Caller } from '../../src/access/caller';
import { addTeamMember } from '../../src/case/add-team-member';
import { agreePlanRevision } from '../../src/case/agree-plan-revision';
import { closeCase } from '../../src/case/close-case';
import type { CaseDecision } from '../../src/case/decision';
import { draftPlanRevision } from '../../src/case/draft-plan-revision';
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
import { LedgerError, RuleViolation } from '../../src/errors';
import { CommandIds, uuidV5 } from '../../src/ledger/command-ids';
import { ProtocolLedger } from '../../src/protocol/protocol-ledger';
import { GetActivityReportHandler, GetActivityReport } from '../../src/reads/activity-report';
import { GetCaseHistory, GetCaseHistoryHandler, GetCaseView, GetCaseViewHandler, ListCases, ListCasesHandler } from '../../src/reads/case-queries';
import { Disclosures } from '../../src/reads/disclosures';
import { ReadBarrier } from '../../src/reads/read-barrier';
import { ReadAccessTrail, ReadAccessTrailHandler } from '../../src/reads/trail-queries';
import { type Decides, routedInput, type SentInput } from '../support/decide';
import { AGENCIES, PERSON, PROTOCOL_TERMS, protocolFixture, ZONE } from '../support/fixtures';
import { sealedLedger } from '../support/keys';

/*
 * Non-interference (ENTITLEMENTS.md "Nothing leaks through the side"): take an observer agency O
 * and two ledgers that differ only in data O may not see; every answer O can get must be the
 * same, apart from a case's revision, updatedAt, ETag and position values.
 *
 * Pairs are built by construction, so that no second copy of the policy decides what O may see:
 * - O's protocol is narrowed so that one sensitive category S (health or judicial) is not
 *   receivable by O: no consent and no team change can ever show O a datum of category S
 *   (rule 3), nor the membership of an agency of S (rule 3), nor a grant carrying S;
 * - both ledgers run the same random commands through the real decider; the second ledger
 *   also gets hidden steps, each made of data of category S only, by agencies other than O: a
 *   note of category S, an outcome of category S, a health or judicial agency added to or
 *   removed from the team, an authorisation granting S, its withdrawal, a need or an objective
 *   of category S inside a referral or a plan revision. A visible common note carried by a
 *   hidden entry is, in the first ledger, the same note recorded on its own (the spec says it
 *   must then read the same);
 * - a command of another agency that the hidden steps let through in one ledger and not in the
 *   other is dropped from both (the ledgers would then differ in what O may see); a command of
 *   O's whose answer differs is a leak in itself.
 * O itself writes no datum of category S (see the note on case 0 below: the one inference the
 * spec accepts, since O's DPO is told who received O's own data).
 * Then O's answers are taken through the real read path (store, projection runner, read
 * models, the query handlers with the access trail) and the real decisions: its view, history
 * and list entry; the answer of each command it may try, about visible and hidden targets;
 * its DPO's trail in both scopes after every agency the case exists for in both ledgers has
 * read it; its coordinator's activity report.
 */

const RUNS = Number(process.env.NI_RUNS ?? 200);
const T0 = Date.UTC(2025, 5, 2, 8);
const at = (slot: number) => new Date(T0 + slot * 60_000).toISOString();
const commandId = (slot: number) => uuidV5(`ni/${slot}`);
const NOW = new Date(T0 + 1_000 * 60_000);
const clock = { now: () => NOW };

const ALL = [AGENCIES.sds, AGENCIES.cpi, AGENCIES.serd, AGENCIES.mentalHealth, AGENCIES.uepe, AGENCIES.ets];
const OBSERVERS = [AGENCIES.cpi, AGENCIES.sds, AGENCIES.serd, AGENCIES.uepe, AGENCIES.ets];
/** Agencies whose membership carries each sensitive category. */
const MEMBERS_OF: Record<'health' | 'judicial', string[]> = { health: [AGENCIES.serd, AGENCIES.mentalHealth], judicial: [AGENCIES.uepe] };
const NEED_OF: Record<'health' | 'judicial', Need> = { health: 'addiction', judicial: 'justice' };

type Step = { kind: number; actor: number; pick: number; other: number; category: number; withNote: boolean };
const step = fc.record({ kind: fc.nat(22), actor: fc.nat(5), pick: fc.nat(11), other: fc.nat(5), category: fc.nat(3), withNote: fc.boolean() });
const scenario = fc.record({
  observer: fc.constantFrom(...OBSERVERS),
  sensitive: fc.constantFrom<'health' | 'judicial'>('health', 'judicial'),
  consentRequired: fc.subarray(['special', 'health', 'judicial'] as Category[]),
  referralHidden: fc.boolean(),
  steps: fc.array(step, { minLength: 6, maxLength: 26 }),
});
type Scenario = { observer: string; sensitive: 'health' | 'judicial'; consentRequired: Category[]; referralHidden: boolean; steps: Step[] };

interface Recorded {
  readonly event: CaseEvent;
  readonly agency: string;
  readonly at: string;
}

/** One ledger of the pair, written through the real decider. */
class Ledger {
  state: CaseState = EMPTY_CASE;
  readonly events: Recorded[] = [];
  readonly commandIds: string[] = [];

  constructor(readonly protocol: ZoneProtocol) {}

  decide<I>(agency: string, decision: CaseDecision<I>, input: I, slot: number): CaseEvent[] | RuleViolation | LedgerError {
    try {
      return decision(this.state, input, { actor: actorOf(agency), now: new Date(at(slot)), protocol: this.protocol, ids: new CommandIds(commandId(slot)) });
    } catch (error) {
      if (error instanceof LedgerError) return error;
      throw error;
    }
  }

  apply(agency: string, events: readonly CaseEvent[], slot: number): void {
    for (const event of events) {
      this.events.push({ event, agency, at: at(slot) });
      this.commandIds.push(commandId(slot));
      this.state = evolve(this.state, event, { agency });
    }
  }
}

const actorOf = (agency: string): Actor => ({ zone: ZONE, agency, operator: `op-${agency}`, roles: ['operator', 'coordinator'] });
const outcomeOf = (result: CaseEvent[] | LedgerError) =>
  Array.isArray(result) ? { accepted: result.map((e) => ({ type: e.type, data: e.data })) } : { refused: result instanceof RuleViolation ? result.rule : result.code };

interface Pair {
  readonly first: Ledger;
  readonly second: Ledger;
  /** Commands of the observer's whose answer differed between the ledgers: each a leak. */
  readonly leaks: string[];
  readonly hiddenConsents: string[];
}

function protocolFor(s: Scenario): ZoneProtocol {
  return protocolFixture({
    ...PROTOCOL_TERMS,
    consentRequired: s.consentRequired,
    parties: PROTOCOL_TERMS.parties.map((p) => {
      if (p.agency !== s.observer) return p;
      const receivable = (p.receivable ?? defaultReceivable(p.kind)).filter((c) => c !== s.sensitive);
      return { ...p, receivable };
    }),
  });
}

function defaultReceivable(kind: string): Category[] {
  return protocolFixture().current.parties.find((p) => p.kind === kind)!.receivable;
}

/** Builds the two ledgers of a scenario. */
function pairOf(s: Scenario): Pair {
  const protocol = protocolFor(s);
  const first = new Ledger(protocol);
  const second = new Ledger(protocol);
  const leaks: string[] = [];
  const hiddenConsents: string[] = [];
  const S = s.sensitive;
  const hiddenMembers = MEMBERS_OF[S].filter((m) => m !== s.observer);
  const others = ALL.filter((a) => a !== s.observer);
  let slot = 0;
  let text = 0;
  const note = (category: Category) => ({ category, text: `n${++text}` });

  /** The same command in both ledgers: kept only where it goes the same way in both. */
  const both = <B extends z.ZodType, I>(agency: string, behaviour: Decides<B, I>, sent: SentInput<B, I>, variant?: SentInput<B, I>) => {
    const here = ++slot;
    const a = first.decide(agency, behaviour.decide, routedInput(behaviour, sent), here);
    const b = second.decide(agency, behaviour.decide, routedInput(behaviour, variant ?? sent), here);
    const same = JSON.stringify(outcomeOf(a)) === JSON.stringify(outcomeOf(b));
    if (!same && !variant) {
      if (agency === s.observer) leaks.push(`${agency} ${JSON.stringify(sent)}: ${JSON.stringify(outcomeOf(a))} / ${JSON.stringify(outcomeOf(b))}`);
      return;
    }
    if (variant && (!Array.isArray(a) || !Array.isArray(b))) {
      if (agency === s.observer && Array.isArray(a) !== Array.isArray(b)) leaks.push(`${agency} ${JSON.stringify(sent)}`);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      first.apply(agency, a, here);
      second.apply(agency, b, here);
    }
  };

  /**
   * A step only the second ledger has, of category S data by an agency other than O; where it
   * carries a visible note, the first ledger has that note recorded on its own, by the same
   * author at the same time.
   */
  const hidden = <B extends z.ZodType, I>(agency: string, behaviour: Decides<B, I>, sent: SentInput<B, I>, visibleNote?: { category: Category; text: string }) => {
    const here = ++slot;
    const b = second.decide(agency, behaviour.decide, routedInput(behaviour, sent), here);
    if (!Array.isArray(b)) return;
    if (visibleNote) {
      const a = first.decide(agency, recordNotes.decide, routedInput(recordNotes, { notes: [visibleNote] }), here);
      if (!Array.isArray(a)) return;
      first.apply(agency, a, here);
    }
    second.apply(agency, b, here);
    for (const e of b) if (e.type === 'ConsentRecorded') hiddenConsents.push(e.data.consentId);
  };

  const referral = { person: PERSON, needs: ['employment' as Need], programmes: [], notes: [note('common')] };
  // Hidden data inside a visible entry must not be authored by O (it would see it by rule 1).
  const referrer = s.observer === AGENCIES.sds ? AGENCIES.cpi : AGENCIES.sds;
  both(referrer, submitReferral, referral, s.referralHidden ? { ...referral, needs: ['employment', NEED_OF[S]] } : undefined);

  for (const st of s.steps) {
    const actor = ALL[st.actor]!;
    const other = ALL[st.other]!;
    const category = (['common', 'special', 'health', 'judicial'] as Category[])[st.category]!;
    const member = hiddenMembers[st.pick % hiddenMembers.length];
    const otherThanO = others[st.pick % others.length]!;
    /** A minimal-team agency other than O: always a full member, so its hidden steps go through. */
    const minimalOtherThanO = s.observer === AGENCIES.sds ? AGENCIES.cpi : AGENCIES.sds;
    const withNote = st.withNote ? { notes: [note('common')] } : {};
    switch (st.kind) {
      case 0:
      case 1:
        // O writes no datum of category S: which agencies its own S data is disclosed to depends on
        // authorisations it cannot see, and its DPO is shown those disclosures (its agency is the
        // controller of that data): an inference the DPIA accepts (docs/DPIA.md).
        both(actor, recordNotes, { notes: [note(actor === s.observer && category === S ? 'common' : category)] });
        break;
      case 2:
        both(actor, recordConsent, {
          grants: [{ agency: other, categories: [category] }],
          legalBasis: 'explicit-consent',
          informativaVersion: 'v1',
          collectedAt: '2025-06-01T00:00:00Z',
          ...withNote,
        });
        break;
      case 3: {
        const ids = [...first.state.consents.keys()];
        if (ids.length) both(actor, withdrawConsent, { consentId: ids[st.pick % ids.length]! });
        break;
      }
      case 4:
        both(actor, takeInCharge, { caseManager: { agency: [AGENCIES.sds, AGENCIES.cpi][st.pick % 2]!, operator: 'cm-1' }, prevalentNeed: 'employment' });
        break;
      case 5:
        both(actor, addTeamMember, { agency: other, tier: 'extended', ...withNote });
        break;
      case 6:
        both(actor, removeTeamMember, { agency: other });
        break;
      case 7:
        both(actor, recordDecision, { decision: 'extend-equipe', heldOn: '2025-06-02', participants: [AGENCIES.sds, AGENCIES.cpi] });
        break;
      case 8: {
        const plan = {
          objectives: [{ id: 'o1', dimension: 'employment' as Need, description: 'internship', term: 'short' as const }],
          interventions: [{ id: 'i1', code: 'A2.09' as const, description: 'tirocinio', responsibleAgency: AGENCIES.cpi, from: '2025-07-01' }],
          commitments: ['attend the interviews'],
        };
        const withHidden = {
          ...plan,
          objectives: [...plan.objectives, { id: 'oh', dimension: NEED_OF[S], description: 'hidden objective', term: 'long' as const }],
          commitments: [...plan.commitments, { category: S, text: 'keep the hidden appointments' }],
        };
        both(actor, draftPlanRevision, plan, st.pick % 2 && actor !== s.observer ? withHidden : undefined);
        break;
      }
      case 9:
        both(actor, agreePlanRevision, { planRevision: 1 + (st.pick % 2), agreedOn: '2025-06-03' });
        break;
      case 10:
        both(actor, validatePlanRevision, { planRevision: 1 + (st.pick % 2) });
        break;
      case 11:
        both(actor, recordVerification, { planRevision: 1, progress: [{ objectiveId: 'o1', status: 'in-progress' }] });
        break;
      case 12:
        both(actor, reportNonCompliance, st.pick % 2 ? { commitment: 'missed two interviews' } : {});
        break;
      case 13:
        both(actor, recordOutcome, { outcomes: ['internship'] });
        break;
      case 14:
        both(actor, closeCase, { reason: 'objectives-achieved' });
        break;
      case 15:
        both(actor, reopenCase, {});
        break;
      // Hidden steps: data of category S only, by agencies other than O.
      case 16:
        hidden(otherThanO, recordNotes, { notes: [note(S)] });
        break;
      case 17:
        if (S === 'health') {
          const visible = st.withNote ? note('common') : undefined;
          hidden(minimalOtherThanO, recordOutcome, { outcomes: ['health-pathway'], notes: visible ? [visible] : [] }, visible);
        }
        break;
      case 18:
        if (member) {
          const visible = st.withNote ? note('common') : undefined;
          hidden(AGENCIES.sds === s.observer ? AGENCIES.cpi : AGENCIES.sds, addTeamMember, { agency: member, tier: 'extended', notes: visible ? [visible] : [] }, visible);
        }
        break;
      case 19:
        if (member) hidden(AGENCIES.sds === s.observer ? AGENCIES.cpi : AGENCIES.sds, removeTeamMember, { agency: member });
        break;
      case 20: {
        const target = otherThanO;
        const visible = st.withNote ? note('common') : undefined;
        hidden(
          AGENCIES.sds === s.observer ? AGENCIES.cpi : AGENCIES.sds,
          recordConsent,
          {
            grants: [{ agency: target, categories: [S] }],
            legalBasis: 'explicit-consent',
            informativaVersion: 'v1',
            collectedAt: '2025-06-01T00:00:00Z',
            notes: visible ? [visible] : [],
          },
          visible,
        );
        break;
      }
      case 21: {
        const id = hiddenConsents[st.pick % Math.max(1, hiddenConsents.length)];
        if (id) hidden(AGENCIES.sds === s.observer ? AGENCIES.cpi : AGENCIES.sds, withdrawConsent, { consentId: id });
        break;
      }
      case 22:
        if (member) hidden(member, recordNotes, { notes: [note(S)] });
        break;
    }
  }
  return { first, second, leaks, hiddenConsents };
}

/** The case of the pair: the referral is the first command (slot 1). */
const CASE_ID = () => uuidV5(`${commandId(1)}/case`);

/** The answers of the observer's commands, decided on the ledger as it ends (nothing is appended). */
function commandAnswers(ledger: Ledger, observer: string, hiddenConsents: readonly string[]): unknown[] {
  const slot = 900;
  const probes: Array<[string, Decides<z.ZodType, unknown>, unknown]> = [
    ...ALL.filter((a) => a !== observer).flatMap((agency): Array<[string, Decides<z.ZodType, unknown>, unknown]> => [
      [`add ${agency}`, addTeamMember as never, { agency, tier: 'extended' }],
      [`remove ${agency}`, removeTeamMember as never, { agency }],
    ]),
    ['close', closeCase as never, { reason: 'objectives-achieved' }],
    ['reopen', reopenCase as never, {}],
    ['notes', recordNotes as never, { notes: [{ category: 'common', text: 'probe' }] }],
    ['plan', draftPlanRevision as never, { objectives: [{ id: 'p1', dimension: 'employment', description: 'probe', term: 'short' }], interventions: [], commitments: [] }],
    ['agree 1', agreePlanRevision as never, { planRevision: 1, agreedOn: '2025-06-04' }],
    ['validate 1', validatePlanRevision as never, { planRevision: 1 }],
    ['verify o1', recordVerification as never, { planRevision: 1, progress: [{ objectiveId: 'o1', status: 'achieved' }] }],
    ['verify oh', recordVerification as never, { planRevision: 1, progress: [{ objectiveId: 'oh', status: 'achieved' }] }],
    ['outcome', recordOutcome as never, { outcomes: ['training'] }],
    ['take in charge', takeInCharge as never, { caseManager: { agency: AGENCIES.sds, operator: 'cm-2' }, prevalentNeed: 'employment' }],
    [
      'consent',
      recordConsent as never,
      { grants: [{ agency: AGENCIES.sds, categories: ['common'] }], legalBasis: 'consent', informativaVersion: 'v2', collectedAt: '2025-06-01T00:00:00Z' },
    ],
    ...hiddenConsents.map((id): [string, Decides<z.ZodType, unknown>, unknown] => [`withdraw ${id}`, withdrawConsent as never, { consentId: id }]),
  ];
  return probes.map(([what, behaviour, sent]) => {
    const result = ledger.decide(observer, behaviour.decide, routedInput(behaviour, sent as never), slot);
    if (!Array.isArray(result)) return { what, refused: result instanceof RuleViolation ? result.rule : result.code };
    // A command's answer: caseId, revision and position (allowed to differ), and the fields the behaviour adds.
    const consentId = result.find((e) => e.type === 'ConsentRecorded')?.data.consentId;
    const planRevision = result.find((e) => e.type === 'PlanRevisionDrafted')?.data.planRevision;
    return { what, accepted: { consentId, planRevision } };
  });
}

/** Everything but revision, updatedAt, ETag, position, generated ids and the trail's record ids. */
function normalised(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (key, v) => (['revision', 'updatedAt', 'position', 'id', 'etag'].includes(key) ? '*' : v));
}

/** The observer's answers over the real read path: store, runner, read models, query handlers, trail. */
async function readAnswers(ledger: Ledger, protocol: ZoneProtocol, observer: string, readers: readonly string[]) {
  const { store, models } = sealedLedger(':memory:', ':memory:', { pollIntervalMs: 5 });
  const runner = new ProjectionRunner(store, models);
  const barrier = new ReadBarrier(store, runner, true);
  const disclosures = new Disclosures(store, clock);
  try {
    const meta = (agency: string, occurredAt: string, cmd: string) => ({ zone: ZONE, agency, operator: `op-${agency}`, occurredAt, commandId: cmd, correlationId: 'ni' });
    await store.append(
      protocolStream(ZONE),
      [{ id: uuidV5('ni/protocol'), type: 'ProtocolSigned', data: protocol.current, metadata: meta(AGENCIES.sds, at(0), uuidV5('ni/p')) }],
      'no-stream',
    );
    let revision: bigint | undefined;
    for (const [i, r] of ledger.events.entries()) {
      const result = await store.append(
        caseStream(ZONE, CASE_ID()),
        [{ id: uuidV5(`ni/e/${i}/${ledger.commandIds[i]}`), type: r.event.type, data: r.event.data, metadata: meta(r.agency, r.at, ledger.commandIds[i]!) }],
        revision ?? 'no-stream',
      );
      revision = result.nextExpectedRevision;
    }
    runner.start();
    const request = { requestId: 'ni', purpose: 'case-management' };
    const caller = (agency: string, roles: Actor['roles'] = ['operator', 'coordinator']) => Caller.mint({ zone: ZONE, agency, operator: `op-${agency}`, roles }, models);
    const attempt = async <T>(work: () => Promise<T>) => {
      try {
        return { ok: await work() };
      } catch (error) {
        if (error instanceof LedgerError) return { refused: error.code };
        throw error;
      }
    };
    const viewHandler = new GetCaseViewHandler(barrier, disclosures);
    // Every agency the case exists for in both ledgers reads it: the trail then holds their reads.
    for (const reader of readers) await attempt(() => viewHandler.execute(new GetCaseView(caller(reader), CASE_ID(), request)));
    const o = caller(observer);
    const view = await attempt(() => viewHandler.execute(new GetCaseView(o, CASE_ID(), request)));
    const history = await attempt(() => new GetCaseHistoryHandler(barrier, disclosures).execute(new GetCaseHistory(o, CASE_ID(), request)));
    const list = await new ListCasesHandler(barrier, disclosures).execute(new ListCases(o, { limit: 50 }, request));
    const dpo = caller(observer, ['dpo']);
    const trail = new ReadAccessTrailHandler(barrier);
    const byUs = await trail.execute(new ReadAccessTrail(dpo, { scope: 'by-us', limit: 500 }));
    const ofOurData = await trail.execute(new ReadAccessTrail(dpo, { scope: 'of-our-data', limit: 500 }));
    // The report counts months that have ended: asked a month on, so that it counts the cases.
    const monthOn = { now: () => new Date(NOW.getTime() + 40 * 24 * 60 * 60_000) };
    const report = await new GetActivityReportHandler(new ProtocolLedger(store, clock), barrier, monthOn).execute(new GetActivityReport(o, {}));
    return normalised({ view, history, list: list.map(({ disclosure, ...item }) => ({ ...item, disclosure })), byUs: byUs.items, ofOurData: ofOurData.items, report });
  } finally {
    await runner.stop();
    models.close();
    await store.close();
  }
}

/** The whole comparison for one scenario: what differs between the observer's answers on the two ledgers. */
async function differences(s: Scenario, plant?: Plant): Promise<string[]> {
  const pair = pairOf(s);
  const protocol = protocolFor(s);
  const out: string[] = [...pair.leaks];
  const readers = ALL.filter((a) => existsFor(pair.first.state, protocol, a) && existsFor(pair.second.state, protocol, a) && a !== s.observer);
  const answers = async (ledger: Ledger) => {
    const read = (await readAnswers(ledger, protocol, s.observer, readers)) as Record<string, unknown>;
    const commands = commandAnswers(ledger, s.observer, pair.hiddenConsents);
    return plant ? plant(ledger, { ...read, commands }, s) : { ...read, commands };
  };
  const [a, b] = [await answers(pair.first), await answers(pair.second)];
  for (const key of Object.keys(a)) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) out.push(`${key}: ${JSON.stringify(a[key])}\n   vs ${JSON.stringify(b[key])}`);
  }
  return out;
}

/** A leak planted in the answers, to show the property can fail on each kind ENTITLEMENTS.md lists. */
type Plant = (ledger: Ledger, answers: Record<string, unknown>, s: Scenario) => Record<string, unknown>;

const PLANTS: Record<string, Plant> = {
  /** A note's `about` read off the raw ledger: the type of the entry that carried it, hidden or not. */
  'a note says which entry carried it': (ledger, answers) => {
    const view = (answers.view as { ok?: { view: { notes?: Array<{ text: string; about?: string }> } } }).ok?.view;
    for (const n of view?.notes ?? []) n.about = ledger.events.find((r) => JSON.stringify(r.event.data).includes(`"${n.text}"`))?.event.type;
    return answers;
  },
  /** already-member answered on the team as it is, before asking whether the caller may know it. */
  'already-member on the raw team': (ledger, answers, s) => {
    const commands = answers.commands as Array<{ what: string; refused?: string }>;
    for (const c of commands) {
      const agency = c.what.startsWith('add ') ? c.what.slice(4) : undefined;
      if (agency && ledger.state.team.has(agency) && existsFor(ledger.state, protocolFor(s), s.observer)) c.refused = 'already-member';
    }
    return answers;
  },
  /** closure-needs-outcome counted on every outcome, seen or not. */
  'closure counts hidden outcomes': (ledger, answers) => {
    const close = (answers.commands as Array<{ what: string; refused?: string; accepted?: unknown }>).find((c) => c.what === 'close');
    if (close && ledger.state.outcomesSinceOpening.length > 0 && close.refused === 'closure-needs-outcome') {
      delete close.refused;
      close.accepted = {};
    }
    return answers;
  },
  /** The report counted on the zone's raw figures, as a coordination body's is. */
  'a coordinator counts the zone': (ledger, answers) => {
    const referral = ledger.events.find((r) => r.event.type === 'ReferralSubmitted');
    if (!referral || referral.event.type !== 'ReferralSubmitted') return answers;
    const outcomes = ledger.events.flatMap((r) => (r.event.type === 'OutcomeRecorded' ? r.event.data.outcomes : []));
    const summary = { status: ledger.state.status, openedAt: referral.at, programmes: referral.event.data.programmes, needs: referral.event.data.needs, outcomes };
    return { ...answers, report: normalised({ ok: activityReport([summary], {}) }) };
  },
};

describe('non-interference (ENTITLEMENTS.md "Nothing leaks through the side")', () => {
  jest.setTimeout(600_000);

  it(`gives an agency the same answers on ${RUNS} random pairs of ledgers that differ only in what it may not see`, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const found = await differences(s);
        if (found.length) throw new Error(`observer ${s.observer}, hidden ${s.sensitive}:\n${found.join('\n')}`);
      }),
      { numRuns: RUNS, seed: Number(process.env.NI_SEED ?? 20261201) },
    );
  });

  it('builds pairs that really differ: most put hidden data in the second ledger', () => {
    const samples = fc.sample(scenario, { numRuns: 100, seed: 7 }).map((s) => pairOf(s));
    const differing = samples.filter((p) => JSON.stringify(p.first.events) !== JSON.stringify(p.second.events));
    expect(differing.length).toBeGreaterThan(60);
  });

  it.each(Object.keys(PLANTS))('fails on a planted leak: %s', async (name) => {
    const result = await fc.check(
      fc.asyncProperty(scenario, async (s) => (await differences(s, PLANTS[name])).length === 0),
      { numRuns: RUNS, seed: Number(process.env.NI_SEED ?? 20261201) },
    );
    expect(result.failed).toBe(true);
  });
});
