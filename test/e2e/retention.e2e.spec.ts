import { copyFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fiscalCodeCheckCharacter } from '../../events/fiscal-code';
import { runCli } from '../../src/cli';
import { AGENCIES } from '../support/fixtures';
import { signProtocol, startService, type TestService } from '../support/test-app';

/*
 * Retention (issue 11) and the master keys' rotation and backup. The clock is injected: the
 * protocol keeps data 10 years after closure (the example protocol's default).
 */
const sds = { agency: AGENCIES.sds, roles: ['operator' as const, 'coordinator' as const] };
const person = (fiscalCode: string, givenName: string) => ({ fiscalCode, givenName, familyName: 'Tester', birthDate: '1980-01-01' });
const A = person('BNCNNA80A41G702Z', 'Adelmo');
const B = person('VRDLCU75M12E715V', 'Beatrice');

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

describe('retention and the master keys', () => {
  let now = new Date('2025-06-02T09:00:00Z');
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ clock: { now: () => now } });
    await signProtocol(service);
  });
  afterAll(async () => {
    // The last test stops the service it restarted and removes its folder.
  });

  async function post(path: string, body: unknown) {
    const response = await service.request('POST', path, { as: sds, body });
    if (response.status !== 201) throw new Error(`${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  }
  async function closedCase(who: typeof A) {
    const { caseId } = await post('/v1/referrals', { person: who, needs: ['employment'] });
    await post(`/v1/cases/${caseId}/outcomes`, { outcomes: ['employment-contract'] });
    await post(`/v1/cases/${caseId}/closure`, { reason: 'objectives-achieved' });
    return caseId as string;
  }

  it('erases a person once every case of theirs has been closed longer than the retention period, and no one else', async () => {
    const a1 = await closedCase(A);
    const a2 = await closedCase(A);
    const b1 = await closedCase(B);
    const { caseId: b2 } = await post('/v1/referrals', { person: B, needs: ['housing'] });
    expect((await service.request('GET', `/v1/cases/${b2}`, { as: sds })).status).toBe(200);

    const retention = service.ledger.parts.retention;
    expect(await retention.due()).toEqual([]);
    now = new Date('2035-06-03T09:00:00Z');
    const due = await retention.due();
    // Beatrice has an open case: kept whole. Adelmo's two cases are both past retention.
    expect(due).toEqual([
      {
        subject: expect.stringMatching(/^[0-9a-f]{64}$/),
        cases: expect.arrayContaining([expect.objectContaining({ caseId: a1 }), expect.objectContaining({ caseId: a2 })]),
        dueSince: expect.any(String),
      },
    ]);
    expect(await retention.run()).toBe(1);
    expect(await retention.run()).toBe(0);
    expect((await service.request('GET', `/v1/cases/${a1}`, { as: sds })).body.erased).toBe(true);
    expect((await service.request('GET', `/v1/cases/${b1}`, { as: sds })).body.person.givenName).toBe('Beatrice');
    const erasure = (await service.store.readAll({ maxCount: 1000, streamPrefixes: ['erasure-'] }))[0]!;
    expect(erasure.metadata).toMatchObject({ agency: 'ledger', operator: 'ledger:retention' });
    expect(erasure.data).toMatchObject({ legalBasis: 'retention-period', reason: 'retention-expired' });
  });

  it('lists who would be erased from the command line, by pseudonym, without changing anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-retention-'));
    try {
      // A copy of the data folder, as an operator would run it with the service stopped.
      cpSync(service.dataDir, dir, { recursive: true });
      const { io, out } = capture();
      expect(await runCli(['retention', '--dry-run'], io, { DATA_DIR: dir })).toBe(0);
      expect(out[out.length - 1]).toMatch(/^0 person\(s\) would be erased \(dry run/);
      expect(out.join('\n')).not.toMatch(/Adelmo|Beatrice|BNCNNA|VRDLCU/);
      // Erasing, it first brings the views up to the ledger: here from nothing (the views file
      // removed), and nobody is due on the machine's clock.
      rmSync(join(dir, 'views.db'), { force: true });
      const erasing = capture();
      expect(await runCli(['retention'], erasing.io, { DATA_DIR: dir })).toBe(0);
      expect(erasing.out[erasing.out.length - 1]).toBe('0 person(s) erased');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('erases a person referred again after an erasure, once their new cases are past retention; the erased case holds nothing back', async () => {
    const C = person('FRNTSO77H22L219Z', 'Ottorino');
    now = new Date('2025-06-04T09:00:00Z');
    // Erased while referred: that case never closes, and holds no data of theirs.
    const { caseId: erased } = await post('/v1/referrals', { person: C, needs: ['employment'] });
    const admin = { agency: AGENCIES.sds, roles: ['admin' as const] };
    expect(
      (await service.request('POST', `/v1/subjects/${C.fiscalCode}/erasure`, { as: admin, body: { legalBasis: 'gdpr-17-1-a', reason: 'request-of-the-person' } })).status,
    ).toBe(201);
    const again = await closedCase(C);
    expect((await service.request('GET', `/v1/cases/${again}`, { as: sds })).body.person.givenName).toBe('Ottorino');

    const retention = service.ledger.parts.retention;
    expect(await retention.due()).toEqual([]);
    now = new Date('2035-06-05T09:00:00Z');
    expect(await retention.due()).toEqual([expect.objectContaining({ cases: [expect.objectContaining({ caseId: again })] })]);
    expect(await retention.run()).toBe(1);
    expect(await retention.run()).toBe(0);
    expect(service.ledger.parts.keys.keyOfCase(again)).toBeUndefined();
    expect((await service.request('GET', `/v1/cases/${again}`, { as: sds })).body.erased).toBe(true);
    expect((await service.request('GET', `/v1/cases/${erased}`, { as: sds })).body.erased).toBe(true);
  });

  it('leaves a person referred again after the job looked: their new case is not past retention', async () => {
    const D = person(`DRAMRA80A01H501${fiscalCodeCheckCharacter('DRAMRA80A01H501')}`, 'Dario');
    now = new Date('2025-06-06T09:00:00Z');
    const old = await closedCase(D);
    now = new Date('2035-06-07T09:00:00Z');
    const retention = service.ledger.parts.retention;
    const due = (await retention.due()).filter((p) => p.cases.some((c) => c.caseId === old));
    expect(due).toHaveLength(1);
    // Referred again between the job's look and its erasure (the clock set back to a day the
    // example protocol is in force): the new case is sealed with the same key.
    now = new Date('2025-06-07T09:00:00Z');
    const { caseId: fresh } = await post('/v1/referrals', { person: D, needs: ['housing'] });
    expect(await retention.erase(due)).toBe(0);
    expect((await service.request('GET', `/v1/cases/${fresh}`, { as: sds })).body.person.givenName).toBe('Dario');
    expect((await service.request('GET', `/v1/cases/${old}`, { as: sds })).body.person.givenName).toBe('Dario');
  });

  it('leaves a person whose case was reopened after the job looked: a destroyed key cannot be given back', async () => {
    const E = person(`DRAMRA80A01H502${fiscalCodeCheckCharacter('DRAMRA80A01H502')}`, 'Elio');
    now = new Date('2025-06-08T09:00:00Z');
    const old = await closedCase(E);
    now = new Date('2035-06-09T09:00:00Z');
    const retention = service.ledger.parts.retention;
    const due = (await retention.due()).filter((p) => p.cases.some((c) => c.caseId === old));
    expect(due).toHaveLength(1);
    // Reopened between the job's look and its erasure (the clock set back to a day the example
    // protocol is in force, then forward again): an open case is not past any retention.
    now = new Date('2025-06-09T09:00:00Z');
    await post(`/v1/cases/${old}/reopening`, { notes: [{ category: 'common', text: 'back in charge' }] });
    now = new Date('2035-06-09T09:00:00Z');
    expect(await retention.erase(due)).toBe(0);
    expect(service.ledger.parts.keys.keyOfCase(old)).toBeDefined();
    expect((await service.request('GET', `/v1/cases/${old}`, { as: sds })).body.person.givenName).toBe('Elio');
    // Closed again: due from the new closure, not from the first one.
    now = new Date('2025-06-10T09:00:00Z');
    await post(`/v1/cases/${old}/outcomes`, { outcomes: ['employment-contract'] });
    await post(`/v1/cases/${old}/closure`, { reason: 'objectives-achieved' });
    now = new Date('2035-06-09T09:00:00Z');
    expect((await retention.due()).filter((p) => p.cases.some((c) => c.caseId === old))).toEqual([]);
    expect(await retention.erase(due)).toBe(0);
    now = new Date('2035-06-11T09:00:00Z');
    expect((await retention.due()).filter((p) => p.cases.some((c) => c.caseId === old))).toHaveLength(1);
  });

  it('rotates the master key: after a restart everything reads, and an old backup of the key store with the data folder still opens what it held', async () => {
    now = new Date('2025-06-10T09:00:00Z');
    const { caseId } = await post('/v1/referrals', { person: person('RSSMRA85T10A562S', 'Romeo'), needs: ['employment'] });
    const dir = mkdtempSync(join(tmpdir(), 'ledger-rotation-'));
    try {
      const backup = join(dir, 'keys-before-rotation.db');
      const { io } = capture();
      expect(await runCli(['keys', 'backup', backup], io, { DATA_DIR: service.dataDir })).toBe(0);
      const before = join(dir, 'data-before');
      await service.stop({ keepData: true });
      cpSync(service.dataDir, before, { recursive: true });

      const rotated = capture();
      expect(await runCli(['keys', 'rotate'], rotated.io, { DATA_DIR: service.dataDir })).toBe(0);
      expect(rotated.out[0]).toMatch(/^master key [0-9a-f]{16} is current \(was [0-9a-f]{16}\); \d+ data key\(s\) re-wrapped/);

      // Restart on the rotated folder: the case reads.
      const folder = service.dataDir;
      service = await startService({ clock: { now: () => now }, dataDir: folder });
      expect((await service.request('GET', `/v1/cases/${caseId}`, { as: sds })).body.person.givenName).toBe('Romeo');

      // The old folder with the old key store backup (and the keyring, which keeps retired masters) still opens.
      copyFileSync(backup, join(before, 'keys', 'keys.db'));
      rmSync(join(before, 'keys', 'keys.db-wal'), { force: true });
      rmSync(join(before, 'keys', 'keys.db-shm'), { force: true });
      cpSync(join(service.dataDir, 'keys', 'master'), join(before, 'keys', 'master'), { recursive: true });
      const old = await startService({ clock: { now: () => now }, dataDir: before });
      try {
        expect((await old.request('GET', `/v1/cases/${caseId}`, { as: sds })).body.person.givenName).toBe('Romeo');
      } finally {
        await old.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await service.stop();
      rmSync(service.dataDir, { recursive: true, force: true });
    }
  });
});
