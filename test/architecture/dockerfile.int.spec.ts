import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The image's build stage compiles what docker/Dockerfile copies into it, and nothing else. No
 * Docker engine runs where the tests run, so its compile step is done here the same way: the
 * build stage's COPY sources from the repository into an empty folder, then `tsc` on the build's
 * tsconfig. A file the build needs and the Dockerfile leaves out (test/bench importing a test
 * helper, say) fails here rather than in `docker compose up`.
 */
const ROOT = resolve(__dirname, '../..');

/** The repository paths the build stage copies: `COPY src... dest` lines before the second FROM, without --from. */
function buildStageSources(dockerfile: string): string[] {
  const stages = dockerfile.split(/^FROM\s/m);
  const build = stages[1] ?? '';
  return build
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('COPY ') && !line.includes('--from'))
    .flatMap((line) => line.split(/\s+/).slice(1, -1));
}

function compiles(sources: readonly string[]): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-image-'));
  try {
    for (const source of sources) cpSync(join(ROOT, source), join(dir, source), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--noEmit'], { cwd: dir, stdio: 'pipe' });
      return { ok: true, output: '' };
    } catch (error) {
      return { ok: false, output: String((error as { stdout?: Buffer }).stdout ?? error) };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('docker/Dockerfile', () => {
  const sources = buildStageSources(readFileSync(join(ROOT, 'docker/Dockerfile'), 'utf8'));

  it('copies into its build stage everything `npm run build` compiles', () => {
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'tsconfig.build.json', 'src', 'events', 'projections']));
    const build = compiles(sources);
    expect(build.output).toBe('');
    expect(build.ok).toBe(true);
  });

  it('would be caught leaving out a folder the build imports from', () => {
    const build = compiles(sources.filter((source) => source !== 'projections'));
    expect(build.ok).toBe(false);
    expect(build.output).toMatch(/projections/);
  });
});
