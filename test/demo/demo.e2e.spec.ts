import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { runDemo, type ShownStep } from '../../src/demo/demo';
import { startService } from '../support/test-app';

/** The demo is the first thing a newcomer runs: it must tell the truth of ENTITLEMENTS.md. */
describe('npm run demo', () => {
  let output: string[];
  const shown: ShownStep[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-demo-'));
  beforeAll(async () => {
    output = [];
    await runDemo({ out: (line) => output.push(line), width: 200, dataDir, onShown: (step) => shown.push(step) });
  }, 60_000);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  /** The block of side-by-side views printed after step n, column by agency. */
  function after(step: number): Record<string, string> {
    const start = output.findIndex((l) => l.startsWith(`${step}. `));
    const header = output.findIndex((l, i) => i > start && l.startsWith('SdS sees'));
    const end = output.findIndex((l, i) => i > header && l.trim() === '');
    const lines = output.slice(header + 2, end);
    const width = output[header]!.indexOf('CPI sees');
    const agencies = ['SdS', 'CPI', 'SerD', 'UFSMA', 'UEPE'];
    return Object.fromEntries(
      agencies.map((a, k) => [
        a,
        lines
          .map((l) => l.slice(k * width, (k + 1) * width))
          .join(' ')
          .replace(/\s+/g, ' '),
      ]),
    );
  }

  /** The steps after which every agency's view is printed (step 6 is the CPI's probe, which prints answers). */
  const VIEW_STEPS = [1, 2, 3, 4, 5, 7, 8];

  it('never shows the CPI health data: not the addiction need, not SerD, not its health notes, not the health outcome', () => {
    for (const step of VIEW_STEPS) {
      const cpi = after(step).CPI!;
      expect(cpi).not.toContain('addiction');
      expect(cpi).not.toContain('methadone');
      expect(cpi).not.toContain('SerD');
      expect(cpi).not.toContain('health-pathway');
    }
  });

  it('shows mental health the health note while the authorisation stands, and not after the withdrawal', () => {
    expect(after(2).UFSMA).not.toContain('methadone');
    expect(after(3).UFSMA).toContain('methadone');
    expect(after(7).UFSMA).toContain('methadone');
    expect(after(8).UFSMA).not.toContain('methadone');
  });

  it('answers UEPE, outside the case, 404', () => {
    for (const step of VIEW_STEPS) expect(after(step).UEPE).toContain('404');
  });

  it("gives the CPI's probes answers that say nothing: not-entitled, closure-needs-outcome, whole months only", () => {
    const text = output.join('\n');
    expect(text).toContain('add SerD to the team → 422 not-entitled');
    expect(text).toContain('add mental health to the team → 422 not-entitled');
    expect(text).toContain('close the case now → 422 closure-needs-outcome');
    expect(text).toMatch(/activity report for one day \(\d{4}-\d{2}-\d{2}\) → 400 validation/);
    expect(text).toMatch(/activity report for this month \(\d{4}-\d{2}\), not over yet → 400 validation/);
    // A month on, that month is counted, and the CPI's coordinator counts no health need.
    expect(text).toMatch(/activity report for \d{4}-\d{2}, needs → \{"employment":"<5"\}/);
  });

  it("lists the CPI's reads and UEPE's refusals on the trail, and suppresses small counts", () => {
    const text = output.join('\n');
    expect(text).toMatch(/CPI\s+op-cpi\s+case\.read\s+disclosed\s+common/);
    expect(text).toMatch(/UEPE\s+op-uepe\s+case\.read\s+not-found/);
    expect(text).toMatch(/<5\s+plan-active <5/);
  });

  it("ends with the auditor's scene: the ledger verified, a proof checked outside the service, a past view", () => {
    const text = output.join('\n');
    expect(text).toMatch(/GET \/v1\/audit\/verify → ok: \d+ events/);
    expect(text).toMatch(/POST \/v1\/audit\/checkpoints → size \d+, root .*, signed by key [0-9a-f]{16}/);
    expect(text).toMatch(/the withdrawal .* checked outside the service: ok/);
    expect(text).toMatch(/a ledger cut short\): REJECTED: the signature does not match the checkpoint/);
    const scene = text.slice(text.indexOf('what mental health saw then'));
    expect(scene).toContain('In the methadone programme since 2023');
  });

  it('replays, as of the end of each step, exactly the view each agency was shown then', async () => {
    expect(shown.map((s) => s.step)).toEqual(VIEW_STEPS);
    const service = await startService({ dataDir });
    try {
      const auditor = { agency: 'cabina-regia-valdinievole', roles: ['auditor' as const] };
      for (const { step, at, views } of shown) {
        for (const [agency, view] of Object.entries(views)) {
          const caseId = (Object.values(views).find((v) => v.status === 200)!.body as { caseId: string }).caseId;
          const asOf = await service.request('GET', `/v1/audit/cases/${caseId}/view?agency=${agency}&asOf=${encodeURIComponent(at)}`, { as: auditor });
          expect({ step, agency, status: asOf.status, body: asOf.status === 200 ? asOf.body : undefined }).toEqual({
            step,
            agency,
            status: view.status,
            body: view.status === 200 ? view.body : undefined,
          });
        }
      }
    } finally {
      await service.stop();
    }
  });

  it("leaves none of the story's personal data in clear in any file of its data folder, WAL and journals included", () => {
    const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
    const personal = [
      'RSSMRA85T10A562S',
      'Mario',
      'Rossi',
      'In the methadone programme since 2023',
      'Worked in a warehouse',
      'Therapy reduced, still stable',
      'Six-month internship in logistics',
      'Tirocinio di inclusione',
      'Attend the weekly meetings at the CPI',
    ];
    const found = files(dataDir).flatMap((file) => personal.filter((text) => readFileSync(file).includes(Buffer.from(text))).map((text) => `${relative(dataDir, file)}: ${text}`));
    expect(found).toEqual([]);
  });
});
