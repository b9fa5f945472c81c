import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENCIES, PERSON } from '../support/fixtures';
import { signProtocol, startService } from '../support/test-app';

/** Every file and folder under `dir`, with its permission bits. */
function modes(dir: string): Array<{ path: string; mode: string }> {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = lstatSync(path);
    const entry = { path, mode: (stat.mode & 0o777).toString(8) };
    return stat.isDirectory() ? [entry, ...modes(path)] : [entry];
  });
}

describe('one data folder, one process', () => {
  let parent: string;
  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'ledger-folder-'));
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('refuses a second service on a folder in use with one line naming the lock; services on other folders run side by side', async () => {
    const dataDir = join(parent, 'data');
    const first = await startService({ dataDir });
    const elsewhere = await startService();
    try {
      await expect(startService({ dataDir })).rejects.toThrow(
        new RegExp(`^DATA_DIR ${dataDir} is in use by another ledger process \\(pid ${process.pid} on .+ since .+, ${dataDir}/lock\\.db\\); stop it first$`),
      );
      expect((await first.request('GET', '/health/ready')).status).toBe(200);
      expect((await elsewhere.request('GET', '/health/ready')).status).toBe(200);
    } finally {
      await elsewhere.stop();
      await first.stop();
    }
    // Stopped, the folder is free again.
    const again = await startService({ dataDir });
    await again.stop();
  });

  it('makes every file it creates owner-only whatever the umask, write-ahead logs included', async () => {
    const dataDir = join(parent, 'data');
    const umask = process.umask(0);
    let service;
    try {
      service = await startService({ dataDir });
    } finally {
      process.umask(umask);
    }
    try {
      await signProtocol(service);
      expect((await service.request('POST', '/v1/referrals', { as: { agency: AGENCIES.sds }, body: { person: PERSON, needs: ['employment'] } })).status).toBe(201);
      await service.request('POST', '/v1/audit/checkpoints', { as: { agency: AGENCIES.sds, roles: ['auditor'] } });
      const found = [{ path: dataDir, mode: (lstatSync(dataDir).mode & 0o777).toString(8) }, ...modes(dataDir)];
      expect(found.map((f) => f.path)).toEqual(expect.arrayContaining([join(dataDir, 'ledger.db-wal'), join(dataDir, 'views.db-wal'), join(dataDir, 'ledger.db-shm')]));
      expect(found.filter((f) => f.mode !== '600' && f.mode !== '700')).toEqual([]);
    } finally {
      await service.stop();
    }
  });
});
