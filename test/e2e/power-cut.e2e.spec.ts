import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENCIES, PERSON } from '../support/fixtures';
import { signProtocol, startService } from '../support/test-app';

/**
 * A commit of the embedded ledger is visible to the projections before its sync has finished
 * (SqliteEventStore, "Durability"), so a power cut can take from the ledger a last commit the
 * views had already copied. The views are a function of the ledger: views ahead of it are
 * computed again at start, never resumed at a position the ledger no longer has.
 */
describe('views ahead of the ledger after a power cut', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledger-power-cut-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('are computed again from the ledger at start, and the ledger goes on from where it really ends', async () => {
    const referral = { as: { agency: AGENCIES.sds }, body: { person: PERSON, needs: ['employment'] } };
    let service = await startService({ dataDir });
    await signProtocol(service);
    await service.stop();
    // The ledger as the disk will hold it after the cut: the protocol only.
    copyFileSync(join(dataDir, 'ledger.db'), join(dataDir, 'ledger.before-cut'));

    service = await startService({ dataDir });
    const lost = await service.request('POST', '/v1/referrals', referral);
    expect(lost.status).toBe(201);
    expect((await service.request('GET', `/v1/cases/${lost.body.caseId}`, { as: { agency: AGENCIES.sds } })).status).toBe(200);
    await service.stop();

    // The cut: the referral's commit never reached the disk; the views had it.
    for (const suffix of ['-wal', '-shm']) rmSync(join(dataDir, `ledger.db${suffix}`), { force: true });
    copyFileSync(join(dataDir, 'ledger.before-cut'), join(dataDir, 'ledger.db'));

    service = await startService({ dataDir });
    try {
      expect(service.logs.some((line) => line.includes('the views are ahead of the ledger'))).toBe(true);
      expect((await service.request('GET', `/v1/cases/${lost.body.caseId}`, { as: { agency: AGENCIES.sds } })).status).toBe(404);
      const list = await service.request('GET', '/v1/cases', { as: { agency: AGENCIES.sds } });
      expect(list.status).toBe(200);
      expect(list.body.items).toEqual([]);
      // The next commits take the positions the lost one had, and the views show them.
      const next = await service.request('POST', '/v1/referrals', referral);
      expect(next.status).toBe(201);
      expect(next.body.position).toBeLessThanOrEqual(lost.body.position + 2);
      expect((await service.request('GET', `/v1/cases/${next.body.caseId}`, { as: { agency: AGENCIES.sds } })).status).toBe(200);
      const after = await service.request('GET', '/v1/cases', { as: { agency: AGENCIES.sds } });
      expect(after.body.items.map((item: { caseId: string }) => item.caseId)).toEqual([next.body.caseId]);
    } finally {
      await service.stop();
    }
  });
});
