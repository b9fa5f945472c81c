import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Role } from '../access/actor';
import { createApp } from '../app';
import { loadOrCreateLocalSigningKey } from '../access/local-signing-key';
import { issueToken } from '../access/tokens';
import { loadConfig } from '../config';
import { type AuditorKey, verifyCheckpoint, verifyEventInclusion } from '../audit/auditor';
import { type Cell, COLOURS, columns, PLAIN, type Style, table, wrap } from './render';

/**
 * `npm run demo`: a Valdinievole story told through the HTTP API of a real service on a fresh
 * embedded store, with what each agency sees of the case after each step, side by side, then
 * the DPOs' access trail and the coordination body's report.
 */
export interface DemoOptions {
  readonly out: (line: string) => void;
  readonly width?: number;
  readonly colours?: boolean;
  /** Where the demo's service keeps its data; a fresh folder, removed at the end, when absent. */
  readonly dataDir?: string;
  /** Told, after each step, the instant it ended and what each agency was shown (the demo's test replays them). */
  readonly onShown?: (shown: ShownStep) => void;
}

export interface ShownStep {
  readonly step: number;
  readonly at: string;
  readonly views: Record<string, { status: number; body: unknown }>;
}

const ZONE = 'valdinievole';
const A = {
  sds: 'sds-valdinievole',
  cpi: 'arti-cpi-pescia',
  serd: 'serd-valdinievole',
  ufsma: 'ufsma-valdinievole',
  uepe: 'uepe-pistoia',
  cabina: 'cabina-regia-valdinievole',
} as const;
const SHORT: Record<string, string> = {
  [A.sds]: 'SdS',
  [A.cpi]: 'CPI',
  [A.serd]: 'SerD',
  [A.ufsma]: 'UFSMA',
  [A.uepe]: 'UEPE',
  [A.cabina]: 'Cabina',
  'caritas-pescia': 'Caritas',
  ledger: 'ledger',
};
const short = (agency: string) => SHORT[agency] ?? agency;
const WATCHERS = [A.sds, A.cpi, A.serd, A.ufsma, A.uepe];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the demo reads the API's JSON as any client would, untyped
type Json = any;

interface Client {
  call(method: string, path: string, as: { agency: string; roles: Role[]; sub?: string }, body?: unknown): Promise<{ status: number; body: Json }>;
}

/** One step of the story: what happens, in Italian and English, and the calls that make it happen. */
interface Step {
  readonly title: string;
  readonly gloss: string;
  /** What the step does; a probe returns the answers it got, printed instead of the views. */
  run(client: Client, state: { caseId?: string; consentId?: string }): Promise<void | string[]>;
}

async function expectOk(response: Promise<{ status: number; body: Json }>, what: string): Promise<Json> {
  const r = await response;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

const op = (agency: string, sub?: string) => ({ agency, roles: ['operator'] as Role[], sub });
const coord = (agency: string, sub?: string) => ({ agency, roles: ['coordinator'] as Role[], sub });

function story(): Step[] {
  return [
    {
      title: 'SerD refers Mario to the team',
      gloss: 'Scheda unica di segnalazione: il SerD segnala. The referral carries health notes: only SerD, who wrote them, sees them for now.',
      async run(c, s) {
        const r = await expectOk(
          c.call('POST', '/v1/referrals', op(A.serd, 'dr-bianchi'), {
            person: { fiscalCode: 'RSSMRA85T10A562S', givenName: 'Mario', familyName: 'Rossi', birthDate: '1985-12-10' },
            needs: ['employment', 'addiction'],
            programmes: ['GOL-4'],
            notes: [
              { category: 'health', text: 'In the methadone programme since 2023, stable.' },
              { category: 'common', text: 'Worked in a warehouse; wants to go back to work.' },
            ],
          }),
          'referral',
        );
        s.caseId = r.caseId;
      },
    },
    {
      title: 'Mario authorises social services and mental health, not the CPI, to receive health data',
      gloss:
        "Informativa e consenso: health data need an authorisation (consentRequired). Mental health will see SerD's health note; social services, who run the team, may now be shown (and so decide) which health services are on it; the CPI never receives health data.",
      async run(c, s) {
        const authorise = (agency: string) => ({
          grants: [{ agency, categories: ['health'] }],
          legalBasis: 'explicit-consent',
          informativaVersion: 'SILL-2025-01',
          collectionMethod: 'written',
          signedBy: 'person',
          collectedAt: new Date().toISOString(),
        });
        await expectOk(c.call('POST', `/v1/cases/${s.caseId}/consents`, op(A.sds, 'as-neri'), authorise(A.sds)), 'consent to social services');
        const r = await expectOk(c.call('POST', `/v1/cases/${s.caseId}/consents`, op(A.sds, 'as-neri'), authorise(A.ufsma)), 'consent to mental health');
        s.consentId = r.consentId;
      },
    },
    {
      title: 'The minimal team takes the case in charge',
      gloss: 'Presa in carico: the coordination group names the SdS social worker case manager and extends the team to SerD and mental health (equipe allargata).',
      async run(c, s) {
        await expectOk(
          c.call('POST', `/v1/cases/${s.caseId}/taking-in-charge`, coord(A.sds, 'as-neri'), { caseManager: { agency: A.sds, operator: 'as-neri' }, prevalentNeed: 'employment' }),
          'taking in charge',
        );
        await expectOk(c.call('POST', `/v1/cases/${s.caseId}/members`, coord(A.sds, 'as-neri'), { agency: A.serd, tier: 'extended' }), 'adding SerD');
        await expectOk(c.call('POST', `/v1/cases/${s.caseId}/members`, coord(A.sds, 'as-neri'), { agency: A.ufsma, tier: 'extended' }), 'adding mental health');
      },
    },
    {
      title: 'A plan with a work internship is agreed and validated',
      gloss: 'PaIS: objective employment, intervention SIUSS A2.09 (support for labour insertion) run by the CPI; Mario signs, the coordination group validates.',
      async run(c, s) {
        await expectOk(
          c.call('POST', `/v1/cases/${s.caseId}/plan/revisions`, op(A.cpi, 'cpi-verdi'), {
            objectives: [{ id: 'o1', dimension: 'employment', description: 'Six-month internship in logistics', term: 'short', dueDate: '2026-06-30' }],
            interventions: [{ id: 'i1', code: 'A2.09', description: 'Tirocinio di inclusione', responsibleAgency: A.cpi, from: '2026-01-07', programme: 'GOL-4' }],
            commitments: ['Attend the weekly meetings at the CPI'],
          }),
          'plan',
        );
        await expectOk(c.call('POST', `/v1/cases/${s.caseId}/plan/revisions/1/agreement`, op(A.cpi, 'cpi-verdi'), { agreedOn: '2025-12-15' }), 'agreement');
        await expectOk(c.call('POST', `/v1/cases/${s.caseId}/plan/revisions/1/validation`, coord(A.sds, 'as-neri'), {}), 'validation');
      },
    },
    {
      title: 'SerD records that Mario follows a health pathway',
      gloss:
        'Scheda esito: the outcome code health-pathway is health data. Only SerD, who wrote it, and the agencies authorised for health data see it; for the CPI nothing happened.',
      async run(c, s) {
        await expectOk(c.call('POST', `/v1/cases/${s.caseId}/outcomes`, op(A.serd, 'dr-bianchi'), { outcomes: ['health-pathway'] }), 'health outcome');
      },
    },
    {
      title: 'An inquisitive CPI coordinator probes for what it may not see',
      gloss:
        'Nothing leaks through the side: each answer is the one the CPI would get if there were no SerD, no health outcome, no health need. Refusals say nothing the CPI may not know.',
      async run(c, s) {
        const cpi = coord(A.cpi, 'cpi-rossi');
        const line = (what: string, r: { status: number; body: Json }) => `${what} → ${r.status} ${r.body?.rule ?? r.body?.error ?? ''}`.trimEnd();
        const month = new Date().toISOString().slice(0, 7);
        const day = new Date().toISOString().slice(0, 10);
        return [
          line('add SerD to the team', await c.call('POST', `/v1/cases/${s.caseId}/members`, cpi, { agency: A.serd, tier: 'extended' })),
          line('add mental health to the team', await c.call('POST', `/v1/cases/${s.caseId}/members`, cpi, { agency: A.ufsma, tier: 'extended' })),
          line('close the case now', await c.call('POST', `/v1/cases/${s.caseId}/closure`, cpi, { reason: 'objectives-achieved' })),
          line(`activity report for one day (${day})`, await c.call('GET', `/v1/reports/activity?from=${day}&to=${day}`, cpi)),
          line(`activity report for this month (${month}), not over yet`, await c.call('GET', `/v1/reports/activity?from=${month}&to=${month}`, cpi)),
        ];
      },
    },
    {
      title: 'A verification and an outcome',
      gloss: 'Scheda di monitoraggio e scheda esito: the internship is under way. SerD, who referred, gets the common outcome as feedback.',
      async run(c, s) {
        await expectOk(
          c.call('POST', `/v1/cases/${s.caseId}/verifications`, op(A.cpi, 'cpi-verdi'), {
            planRevision: 1,
            progress: [{ objectiveId: 'o1', status: 'in-progress' }],
            nextDue: '2026-03-31',
          }),
          'verification',
        );
        await expectOk(
          c.call('POST', `/v1/cases/${s.caseId}/notes`, op(A.serd, 'dr-bianchi'), { notes: [{ category: 'health', text: 'Therapy reduced, still stable.' }] }),
          'note',
        );
        await expectOk(c.call('POST', `/v1/cases/${s.caseId}/outcomes`, op(A.cpi, 'cpi-verdi'), { outcomes: ['internship'] }), 'outcome');
      },
    },
    {
      title: 'Mario withdraws the authorisation',
      gloss: 'Revoca del consenso: from now on mental health no longer sees the health data it saw before. Nothing is deleted: the ledger keeps it, the views hide it.',
      async run(c, s) {
        await expectOk(c.call('POST', `/v1/cases/${s.caseId}/consents/${s.consentId}/withdrawal`, op(A.sds, 'as-neri'), {}), 'withdrawal');
      },
    },
  ];
}

/** One agency's view of the case, as lines. */
function summarise(response: { status: number; body: Json }): Cell[] {
  if (response.status === 404)
    return [
      { text: '404 — no such case', tone: 'red' },
      { text: 'not on the team, never wrote in it', tone: 'dim' },
    ];
  const v = response.body;
  const cells: Cell[] = [{ text: `${v.status} · r${v.revision}`, tone: 'dim' }];
  cells.push(v.person ? { text: `${v.person.givenName} ${v.person.familyName}` } : { text: 'person: —', tone: 'dim' });
  if (v.referrer) cells.push({ text: `referred by ${short(v.referrer)}` });
  if (v.needs) cells.push({ text: `needs: ${v.needs.join(', ')}` });
  if (v.programmes) cells.push({ text: `programmes: ${v.programmes.join(', ')}` });
  if (v.members) cells.push({ text: `team: ${v.members.map((m: Json) => short(m.agency)).join(', ')}` });
  if (v.caseManager) cells.push({ text: `case manager: ${v.caseManager.operator} (${short(v.caseManager.agency)})` });
  for (const consent of v.consents ?? [])
    cells.push({ text: `consent ${consent.grants.map((g: Json) => `${short(g.agency)}←${g.categories.join('+')}`).join(' ')}: ${consent.status}` });
  for (const revision of v.plan?.revisions ?? []) {
    const codes = (revision.interventions ?? []).map((i: Json) => `${i.code} ${short(i.responsibleAgency)}`).join(', ');
    cells.push({ text: `plan ${revision.planRevision} ${revision.status}${codes ? `: ${codes}` : ''}` });
  }
  if (v.verifications) cells.push({ text: `verifications: ${v.verifications.length}` });
  for (const outcome of v.outcomes ?? []) cells.push({ text: `outcome: ${outcome.outcomes.join(', ')}` });
  for (const note of v.notes ?? [])
    cells.push({ text: `${note.category === 'common' ? '' : `[${note.category}] `}"${note.text}" — ${note.agency ? short(note.agency) : 'author hidden'}` });
  return cells;
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const style: Style = options.colours ? COLOURS : PLAIN;
  const width = Math.max(80, options.width ?? 120);
  const say = (line = '') => options.out(line);
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'equipe-ledger-demo-'));
  // The service's clock is the machine's, until the reports' scene moves it a month on (a month is counted once it has ended).
  let ahead = 0;
  const clock = { now: () => new Date(Date.now() + ahead) };
  const ledger = await createApp({ config: loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), consentExpiryIntervalMs: 0, clock });
  try {
    await ledger.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = ledger.app.getHttpServer().address() as { port: number };
    const key = await loadOrCreateLocalSigningKey(dataDir);
    const client: Client = {
      async call(method, path, as, body) {
        const token = await issueToken(key, { zone: ZONE, agency: as.agency, sub: as.sub ?? `op-${short(as.agency).toLowerCase()}`, roles: as.roles, ttlSeconds: 600 });
        const response = await fetch(`http://127.0.0.1:${port}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), 'x-purpose': 'presa-in-carico' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await response.text();
        return { status: response.status, body: text ? JSON.parse(text) : undefined };
      },
    };

    say(style.bold('Equipe Ledger — a case in the Valdinievole zone, as each agency sees it'));
    say(
      style.dim(
        wrap(
          "Every step below is an HTTP call to a real service on a fresh embedded ledger. After each one, every agency asks for the case; each answer is that agency's own view, computed from the ledger by ENTITLEMENTS.md, and written to the access trail before it is sent. What an agency may not see is absent, never masked. Lines marked + are new since the step before.",
          width,
        ).join('\n'),
      ),
    );
    say();

    const { zone: _zone, ...terms } = JSON.parse(readFileSync(exampleProtocol(), 'utf8'));
    await expectOk(client.call('PUT', '/v1/protocol', { agency: A.sds, roles: ['admin'], sub: 'admin-sds' }, terms), 'protocol');
    say(
      `${style.cyan('0.')} ${style.bold('The zone signs its protocol')} ${style.dim(`(protocollo d'intesa: ${terms.parties.length} parties; SdS and CPI are the minimal team)`)}`,
    );
    say();

    const state: { caseId?: string; consentId?: string } = {};
    let previous = new Map<string, Set<string>>();
    const ended: string[] = [];
    for (const [i, step] of story().entries()) {
      const answers = await step.run(client, state);
      // The instant the step ended: the auditor's as-of views replay the story at these instants.
      ended.push(new Date().toISOString());
      await new Promise((resolve) => setTimeout(resolve, 2));
      say(`${style.cyan(`${i + 1}.`)} ${style.bold(step.title)}`);
      for (const line of wrap(step.gloss, width - 3)) say(`   ${style.dim(line)}`);
      if (answers) {
        say();
        for (const answer of answers) say(`   ${answer}`);
        say();
        continue;
      }
      const views = await Promise.all(WATCHERS.map((agency) => client.call('GET', `/v1/cases/${state.caseId}`, op(agency))));
      options.onShown?.({ step: i + 1, at: ended[i]!, views: Object.fromEntries(WATCHERS.map((agency, k) => [agency, views[k]!])) });
      const current = new Map<string, Set<string>>();
      const cells = views.map((view, k) => {
        const agency = WATCHERS[k]!;
        const lines = summarise(view);
        current.set(agency, new Set(lines.map((c) => c.text)));
        return lines.map((cell) => ({ ...cell, changed: i > 0 && cell.tone !== 'dim' && cell.tone !== 'red' && !previous.get(agency)?.has(cell.text) }));
      });
      previous = current;
      say();
      for (const line of columns(
        WATCHERS.map((a) => `${short(a)} sees`),
        cells,
        width,
        style,
      ))
        say(line);
      say();
    }

    say(style.bold('The access trail: every disclosure and every refusal, recorded before the answer left'));
    const trail = async (agency: string, scope: string, limit: number) =>
      (await expectOk(client.call('GET', `/v1/access-trail?scope=${scope}&limit=${limit}`, { agency, roles: ['dpo'], sub: `dpo-${short(agency).toLowerCase()}` }), 'trail'))
        .items as Json[];
    const rows = (items: Json[]) =>
      items.map((r) => [
        r.at.slice(11, 19),
        short(r.agency),
        r.operator ?? '—',
        r.action,
        r.outcome,
        r.categories.join('+') || '—',
        r.basis.map((b: string) => (b.startsWith('consent:') ? 'consent' : b)).join(', ') || '—',
      ]);
    const headers = ['time', 'agency', 'operator', 'action', 'outcome', 'categories', 'basis'];
    say();
    say(style.cyan("The CPI's DPO, what the CPI's operators were shown (scope by-us, latest first):"));
    for (const line of table(headers, rows(await trail(A.cpi, 'by-us', 6)), style)) say(line);
    say();
    say(style.cyan("SerD's DPO, who was shown what SerD recorded (scope of-our-data, latest first):"));
    for (const line of table(headers, rows(await trail(A.serd, 'of-our-data', 8)), style)) say(line);
    say();
    say(style.cyan("UEPE's DPO: UEPE asked for the case and was told it does not exist — recorded too:"));
    for (const line of table(headers, rows(await trail(A.uepe, 'by-us', 3)), style)) say(line);
    say();

    // A month on: the month of the story has ended, and the reports count it.
    const month = clock.now().toISOString().slice(0, 7);
    const started = clock.now();
    ahead = Date.UTC(started.getUTCFullYear(), started.getUTCMonth() + 1, 1, 8) - Date.now();
    const report = await expectOk(client.call('GET', '/v1/reports/activity', { agency: A.cabina, roles: ['operator'], sub: 'cabina-1' }), 'report');
    say(
      style.bold(
        `A month on (the service's clock set to ${clock.now().toISOString().slice(0, 10)}): ${month} has ended and is counted. The coordination body sees no case, only counts; 1 to 4 read "<5" so that no figure singles out a person:`,
      ),
    );
    for (const line of table(
      ['cases', 'by status', 'by need', 'by programme', 'by outcome'],
      [[String(report.cases), fmt(report.byStatus), fmt(report.byNeed), fmt(report.byProgramme), fmt(report.byOutcome)]],
      style,
    ))
      say(line);
    const cpiReport = await expectOk(client.call('GET', `/v1/reports/activity?from=${month}&to=${month}`, coord(A.cpi, 'cpi-rossi')), 'report');
    say(`The CPI's coordinator counts only what the CPI is shown: activity report for ${month}, needs → ${JSON.stringify(cpiReport.byNeed)}`);
    say();
    await auditorScene(client, say, style, width, state.caseId!, ended);
    say(style.dim('Try it yourself: npm start, then the curl walk-through in README.md.'));
  } finally {
    await ledger.close();
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The auditor's scene: the ledger verified, a checkpoint signed, one event proved against it
 * outside the service with nothing but the public key, and a past view replayed.
 */
async function auditorScene(client: Client, say: (line?: string) => void, style: Style, width: number, caseId: string, ended: readonly string[]) {
  const auditor = { agency: A.cabina, roles: ['auditor'] as Role[], sub: 'auditor-cabina' };
  say(style.bold('An auditor of the coordination body checks that nobody altered the ledger, and what mental health saw before the withdrawal'));
  const report = await expectOk(client.call('GET', '/v1/audit/verify', auditor), 'verify');
  say(`   GET /v1/audit/verify → ${report.ok ? style.green('ok') : style.red('NOT VERIFIED')}: ${report.eventsChecked} events, every leaf and the tree recomputed`);
  const checkpoint = await expectOk(client.call('POST', '/v1/audit/checkpoints', auditor), 'checkpoint');
  say(`   POST /v1/audit/checkpoints → size ${checkpoint.size}, root ${checkpoint.root.slice(0, 16)}…, signed by key ${checkpoint.keyId} (Ed25519)`);
  const keys: AuditorKey[] = (await expectOk(client.call('GET', '/v1/audit/keys', auditor), 'keys')).keys;
  // The zone's ledger a page at a time (API.md: at most 500 a page), up to the withdrawal.
  let withdrawal: Json;
  for (let cursor: string | null = ''; withdrawal === undefined && cursor !== null;) {
    const page = await expectOk(client.call('GET', `/v1/audit/events?limit=500${cursor ? `&cursor=${cursor}` : ''}`, auditor), 'events');
    withdrawal = (page.items as Json[]).find((e) => e.type === 'ConsentWithdrawn');
    cursor = page.nextCursor;
  }
  const proof = await expectOk(client.call('GET', `/v1/audit/proofs/inclusion?position=${withdrawal.position}&treeSize=${checkpoint.size}`, auditor), 'proof');
  // What follows runs outside the service: src/audit/auditor.ts needs node:crypto and the public key only.
  const verdict = verifyEventInclusion({ checkpoint, keys, proof, leafHash: withdrawal.hash });
  say(
    `   the withdrawal (${withdrawal.stream.slice(0, 24)}…, ${withdrawal.type}, by ${short(withdrawal.agency)}), proved with ${proof.proof.length} hashes against the signed root, checked outside the service: ${verdict.ok ? style.green('ok') : style.red(`REJECTED: ${verdict.reason}`)}`,
  );
  const altered = verifyCheckpoint({ ...checkpoint, size: checkpoint.size - 1 }, keys);
  say(`   the same checkpoint with its size lowered by one (a ledger cut short): ${altered.ok ? 'ok' : style.red(`REJECTED: ${altered.reason}`)}`);
  const before = ended[6]!;
  const past = await client.call('GET', `/v1/audit/cases/${caseId}/view?agency=${A.ufsma}&asOf=${encodeURIComponent(before)}`, auditor);
  say(`   GET /v1/audit/cases/{id}/view?agency=UFSMA&asOf=${before} (step 7, before the withdrawal) — what mental health saw then:`);
  for (const cell of summarise(past)) for (const line of wrap(cell.text, width - 6)) say(`      ${line}`);
  say(style.dim('   Each of these auditor reads is on the access trail of the coordination body, as auditor-cabina.'));
  say();
}

/** The example protocol, from the sources (src/demo) or from the build (dist/src/demo). */
function exampleProtocol(): string {
  const file = [join(__dirname, '../..'), join(__dirname, '../../..')].map((root) => join(root, 'examples/valdinievole-protocol.json')).find((f) => existsSync(f));
  if (!file) throw new Error('examples/valdinievole-protocol.json not found');
  return file;
}

function fmt(counts: Record<string, number | string>): string {
  return Object.entries(counts)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}
