import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AGENCIES, PERSON } from '../support/fixtures';
import { signProtocol, startService, type TestService } from '../support/test-app';

/* Issue 13.8: storage faults answer 503 `unavailable`, are logged and counted; readiness notices a folder that cannot be written. */
describe('storage faults', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService();
    await signProtocol(service);
  });
  afterAll(async () => service?.stop());

  it('answers a disk-full append 503 unavailable, logs it as a storage failure and counts it', async () => {
    const referral = await service.request('POST', '/v1/referrals', { as: { agency: AGENCIES.serd, roles: ['operator'] }, body: { person: PERSON, needs: ['addiction'] } });
    expect(referral.status).toBe(201);
    const store = service.ledger.parts.store;
    const append = store.append.bind(store);
    store.append = () => Promise.reject(new Database.SqliteError('database or disk is full', 'SQLITE_FULL'));
    try {
      const note = await service.request('POST', `/v1/cases/${referral.body.caseId}/notes`, {
        as: { agency: AGENCIES.sds, roles: ['operator'] },
        body: { notes: [{ category: 'common', text: 'lost to a full disk' }] },
      });
      expect(note.status).toBe(503);
      expect(note.body).toEqual({ error: 'unavailable', message: expect.any(String) });
      expect(JSON.stringify(note.body)).not.toContain('SQLITE');
    } finally {
      store.append = append;
    }
    const line = service.logs.map((l) => JSON.parse(l) as { msg: string; storage?: string }).find((l) => l.msg === 'storage failure');
    expect(line?.storage).toBe('SQLITE_FULL');
    const metrics = await service.request('GET', '/metrics');
    expect(String(metrics.body)).toMatch(/ledger_storage_faults_total\{code="SQLITE_FULL"\} 1/);
  });

  it('is not ready while the data folder cannot be written, and says so', async () => {
    // The probe's own file turned into a folder: no write can succeed there, even as root.
    mkdirSync(join(service.dataDir, '.write-probe'));
    const ready = await service.request('GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.details.storage).toEqual({ status: 'down', reason: 'cannot write to the data folder: EISDIR' });
  });
});
