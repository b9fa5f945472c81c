import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli';
import { AGENCIES, PERSON } from '../support/fixtures';
import { signProtocol, startService } from '../support/test-app';

/* Issue 13, "back up, restore": an online backup while the service runs, restored into a new folder that serves the same cases and verifies. */
describe('ledger backup, and a restore from it', () => {
  const dirs: string[] = [];
  const fresh = (name: string) => {
    const dir = mkdtempSync(join(tmpdir(), `ledger-${name}-`));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('copies what cannot be recomputed while the service runs; the restored folder serves the same views and verifies', async () => {
    const dataDir = fresh('backup-source');
    const service = await startService({ dataDir });
    await signProtocol(service);
    const serd = { agency: AGENCIES.serd, roles: ['operator' as const] };
    const { caseId } = (await service.request('POST', '/v1/referrals', { as: serd, body: { person: PERSON, needs: ['addiction'] } })).body;
    const before = (await service.request('GET', `/v1/cases/${caseId}`, { as: serd })).body;
    expect((await service.request('POST', '/v1/audit/checkpoints', { as: { agency: AGENCIES.coordination, roles: ['auditor'] } })).status).toBe(201);

    const target = join(fresh('backup'), 'copy');
    const out: string[] = [];
    const code = await runCli(['backup', target], { out: (l) => out.push(l), err: (l) => out.push(l) }, { DATA_DIR: dataDir });
    expect({ code, out }).toEqual({
      code: 0,
      out: [expect.stringMatching(/^backed up ledger\.db, keys\/keys\.db, audit\/checkpoints\.db, idempotency\.db, audit\/keys, auth to /)],
    });
    expect(statSync(target).mode & 0o777).toBe(0o700);
    expect(statSync(join(target, 'ledger.db')).mode & 0o777).toBe(0o600);
    await service.stop({ keepData: true });

    // Restore: the backup, plus the master keys kept apart, into an empty folder.
    const restored = fresh('restored');
    cpSync(target, restored, { recursive: true });
    cpSync(join(dataDir, 'keys', 'master'), join(restored, 'keys', 'master'), { recursive: true });
    const again = await startService({ dataDir: restored });
    try {
      expect((await again.request('GET', `/v1/cases/${caseId}`, { as: serd })).body).toEqual(before);
      expect((await again.request('GET', '/v1/audit/verify', { as: { agency: AGENCIES.coordination, roles: ['auditor'] } })).body).toMatchObject({
        ok: true,
        checkpointsChecked: 1,
      });
    } finally {
      await again.stop();
    }
  });

  it('refuses a folder that is not empty', async () => {
    const out: string[] = [];
    const target = fresh('not-empty');
    cpSync(join(__dirname, '../../examples'), target, { recursive: true });
    // A data folder (one with a key store: the command refuses any other first).
    const dataDir = fresh('data');
    mkdirSync(join(dataDir, 'keys'));
    writeFileSync(join(dataDir, 'keys', 'keys.db'), '');
    expect(await runCli(['backup', target], { out: (l) => out.push(l), err: (l) => out.push(l) }, { DATA_DIR: dataDir })).toBe(1);
    expect(out.join('\n')).toContain('is not empty');
  });
});
