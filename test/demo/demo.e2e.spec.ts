import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { runDemo } from '../../src/demo/demo';

/** The demo is the first thing a newcomer runs: it must tell the truth of ENTITLEMENTS.md. */
describe('npm run demo', () => {
  let output: string[];
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-demo-'));
  beforeAll(async () => {
    output = [];
    await runDemo({ out: (line) => output.push(line), width: 200, dataDir });
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
    expect(text).toMatch(/activity report for \d{4}-\d{2}, needs → \{"employment":"<5"\}/);
  });

  it("lists the CPI's reads and UEPE's refusals on the trail, and suppresses small counts", () => {
    const text = output.join('\n');
    expect(text).toMatch(/CPI\s+op-cpi\s+case\.read\s+disclosed\s+common/);
    expect(text).toMatch(/UEPE\s+op-uepe\s+case\.read\s+not-found/);
    expect(text).toMatch(/<5\s+plan-active <5/);
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
