import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli';
import { AGENCIES, PERSON, ZONE } from '../support/fixtures';
import { signProtocol, startService } from '../support/test-app';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

/*
 * The auditors' commands on a data folder the service wrote and closed: `ledger verify`,
 * checkpoints and key rotation, a proof checked with files alone, replay and export.
 */
describe('the auditors’ commands', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let caseId: string;
  let referredAt: string;
  /** A case SerD referred after `referredAt`, and one the social services referred, which SerD never had. */
  let laterCaseId: string;
  let otherCaseId: string;

  async function cli(...args: string[]) {
    const c = capture();
    const code = await runCli(args, c.io, env);
    return { code, out: c.out, err: c.err };
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledger-audit-cli-'));
    env = { DATA_DIR: dataDir };
    const service = await startService({ dataDir });
    await signProtocol(service);
    const referral = await service.request('POST', '/v1/referrals', {
      as: { agency: AGENCIES.serd, roles: ['operator'] },
      body: { person: PERSON, needs: ['addiction'], notes: [{ category: 'health', text: 'methadone programme' }] },
    });
    caseId = referral.body.caseId;
    referredAt = new Date().toISOString();
    await service.request('GET', `/v1/cases/${caseId}`, { as: { agency: AGENCIES.serd, roles: ['operator'] } });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const later = await service.request('POST', '/v1/referrals', { as: { agency: AGENCIES.serd, roles: ['operator'] }, body: { person: PERSON, needs: ['housing'] } });
    laterCaseId = later.body.caseId;
    const other = await service.request('POST', '/v1/referrals', { as: { agency: AGENCIES.sds, roles: ['operator'] }, body: { person: PERSON, needs: ['employment'] } });
    otherCaseId = other.body.caseId;
    await service.stop({ keepData: true });
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('verifies the ledger the service wrote, including the checkpoint it signed on its way out', async () => {
    const { code, out } = await cli('verify');
    expect(code).toBe(0);
    const report = JSON.parse(out[0]!);
    expect(report).toMatchObject({ ok: true, checkpointsChecked: 1 });
    expect(out[1]).toMatch(/^ok: \d+ events and 1 checkpoints verified/);
  });

  it('checks a proof with the keys, a checkpoint and the proof alone, and rejects a checkpoint that was changed', async () => {
    const checkpoint = JSON.parse((await cli('audit', 'checkpoint', '--zone', ZONE)).out[0]!);
    const keys = JSON.parse((await cli('audit', 'keys')).out.join('\n'));
    // The proof an auditor would fetch from GET /v1/audit/proofs/inclusion, made here by the same code.
    const { openAudit } = await import('../../src/audit/open-audit');
    const { SqliteEventStore } = await import('../../src/store/sqlite-event-store');
    const store = new SqliteEventStore(join(dataDir, 'ledger.db'));
    const opened = openAudit({ dataDir }, store, { now: () => new Date() });
    const proof = await opened.audit.inclusion(ZONE, 3, checkpoint.size);
    // The event's own hash, as GET /v1/audit/events and `ledger export` give it.
    const [event, other] = (await opened.audit.events(ZONE, 2, 2)).items;
    expect(event!.position).toBe(3);
    await opened.close();
    await store.close();

    const files = mkdtempSync(join(tmpdir(), 'ledger-auditor-'));
    const file = (name: string, value: unknown) => {
      writeFileSync(join(files, name), JSON.stringify(value));
      return join(files, name);
    };
    const args = ['--keys', file('keys.json', keys), '--proof', file('proof.json', proof), '--leaf-hash', event!.hash];
    const good = await cli('audit', 'verify-proof', '--checkpoint', file('checkpoint.json', checkpoint), ...args);
    expect(good).toMatchObject({ code: 0, err: [] });
    expect(good.out[0]).toMatch(/^ok: leaf \d+ .* is in the ledger of zone valdinievole/);
    const bad = await cli('audit', 'verify-proof', '--checkpoint', file('forged.json', { ...checkpoint, at: '2020-01-01T00:00:00.000Z' }), ...args);
    expect(bad).toMatchObject({ code: 1, err: ['REJECTED: the signature does not match the checkpoint'] });

    // The proof of another event's leaf is no proof of this one; and without the event's hash, nothing is checked.
    const otherLeaf = await cli('audit', 'verify-proof', '--checkpoint', join(files, 'checkpoint.json'), ...args.slice(0, -1), other!.hash);
    expect(otherLeaf).toMatchObject({ code: 1, err: ['REJECTED: the proof is for another leaf'] });
    const withoutHash = await cli('audit', 'verify-proof', '--checkpoint', join(files, 'checkpoint.json'), ...args.slice(0, -2));
    expect(withoutHash.code).toBe(2);
    expect(withoutHash.out).toEqual([]);
    expect(withoutHash.err.join('\n').split('\n')[0]).toBe(
      'audit verify-proof: --leaf-hash HASH is required: the `hash` of the event, from GET /v1/audit/events or `ledger export`',
    );

    // A file that is not what it should hold is a usage error naming it (exit 2): exit 1 is kept for what does not verify.
    writeFileSync(join(files, 'broken.json'), '{"zone":');
    for (const [option, name, message] of [
      ['--proof', file('empty.json', {}), 'is not what it should hold (leafIdx: '],
      ['--proof', file('no-path.json', { ...proof, proof: null }), 'is not what it should hold (proof: '],
      ['--checkpoint', file('array.json', [checkpoint]), 'is not what it should hold (the whole: '],
      ['--keys', join(files, 'broken.json'), ''],
      ['--keys', join(files, 'absent.json'), 'ENOENT'],
    ] as const) {
      const given = { '--keys': join(files, 'keys.json'), '--checkpoint': join(files, 'checkpoint.json'), '--proof': join(files, 'proof.json'), [option]: name };
      const refused = await cli('audit', 'verify-proof', ...Object.entries(given).flat(), '--leaf-hash', event!.hash);
      expect({ option, code: refused.code, out: refused.out }).toEqual({ option, code: 2, out: [] });
      expect(refused.err[0]!.split('\n')[0]).toContain(`audit verify-proof: ${option} ${name}${message === '' ? ':' : ''}`);
      expect(refused.err[0]!.split('\n')[0]).toContain(message);
    }
    rmSync(files, { recursive: true, force: true });
  });

  it('rotates the checkpoint key and keeps every older checkpoint verifiable', async () => {
    const rotated = await cli('audit', 'rotate-key');
    expect(rotated.code).toBe(0);
    expect(rotated.out[0]).toMatch(/^checkpoint key [0-9a-f]{16} signs from now on/);
    expect(JSON.parse(rotated.out.slice(1).join('\n')).keys).toHaveLength(2);
    expect((await cli('audit', 'checkpoint')).code).toBe(0);
    const { code, out } = await cli('verify', '--zone', ZONE);
    expect(code).toBe(0);
    expect(JSON.parse(out[0]!).checkpointsChecked).toBeGreaterThanOrEqual(3);
  });

  it('replays what an agency saw of a case at an instant, and exports the ledger without personal data, both on the trail', async () => {
    const view = await cli('replay', '--agency', AGENCIES.serd, '--case', caseId, '--as-of', referredAt);
    expect(view.code).toBe(0);
    expect(JSON.parse(view.out.join('\n'))).toMatchObject({ caseId, person: { familyName: PERSON.familyName } });
    const before = await cli('replay', '--agency', AGENCIES.serd, '--case', caseId, '--as-of', '2020-01-01T00:00:00Z');
    expect(before.code).toBe(1);
    expect((await cli('replay', '--case', caseId)).code).toBe(2);

    const exported = await cli('export');
    expect(exported.code).toBe(0);
    const lines = exported.out.map((l) => JSON.parse(l) as { type: string; leafIdx: number });
    expect(lines.map((l) => l.leafIdx)).toEqual(lines.map((_, i) => i));
    expect(lines.filter((l) => l.type === 'AccessRecorded').length).toBeGreaterThanOrEqual(3);
    for (const personal of [PERSON.fiscalCode, PERSON.familyName, 'methadone']) expect(exported.out.join('\n')).not.toContain(personal);
    // The replay and the export are themselves on the trail, as the system agency with the OS user as operator.
    const ledger = new Database(join(dataDir, 'ledger.db'), { readonly: true });
    const records = (ledger.prepare("SELECT data, metadata FROM events WHERE type = 'AccessRecorded'").all() as Array<{ data: Buffer; metadata: Buffer }>).map((r) => ({
      ...(JSON.parse(r.data.toString()) as { action: string; caseId: string; categories: string[] }),
      meta: JSON.parse(r.metadata.toString()) as { agency: string; operator: string },
    }));
    ledger.close();
    const byCli = records.filter((r) => r.meta.agency === 'ledger' && r.meta.operator.startsWith('cli:'));
    expect(byCli.filter((r) => r.action === 'case.read-as-of')).toHaveLength(2);
    // The export: the zone's record, and one for each case it wrote out (who wrote on it, in which categories, is that case's data).
    const cases = new Set((lines as unknown as Array<{ stream: string }>).filter((l) => l.stream.startsWith('case-')).map((l) => l.stream.slice(l.stream.indexOf('.') + 1)));
    expect(cases.size).toBeGreaterThan(0);
    const exports = byCli.filter((r) => r.action === 'audit.export');
    expect(exports.map((r) => r.caseId).sort()).toEqual(['*', ...cases].sort());
    expect(exports.find((r) => r.caseId === caseId)?.categories).toEqual(expect.arrayContaining(['health']));
  });

  it('replays every case of the zone that existed for the agency at the instant, one JSON line each, in the order they were opened', async () => {
    const then = await cli('replay', '--agency', AGENCIES.serd, '--as-of', referredAt);
    expect(then).toMatchObject({ code: 0, err: [] });
    expect(then.out.map((line) => (JSON.parse(line) as { caseId: string }).caseId)).toEqual([caseId]);
    expect(JSON.parse(then.out[0]!)).toMatchObject({ person: { familyName: PERSON.familyName } });

    const now = await cli('replay', '--agency', AGENCIES.serd);
    expect(now).toMatchObject({ code: 0, err: [] });
    expect(now.out.map((line) => (JSON.parse(line) as { caseId: string }).caseId)).toEqual([caseId, laterCaseId]);
    expect((await cli('replay', '--agency', AGENCIES.sds)).out.map((line) => (JSON.parse(line) as { caseId: string }).caseId)).toEqual([caseId, laterCaseId, otherCaseId]);

    // Each case shown is on the trail, in one record of the system agency, as a read of that case as of the instant.
    const ledger = new Database(join(dataDir, 'ledger.db'), { readonly: true });
    const rows = ledger.prepare("SELECT data, metadata FROM events WHERE type = 'AccessRecorded' ORDER BY position").all() as Array<{ data: Buffer; metadata: Buffer }>;
    ledger.close();
    const records = rows.map((r) => ({ data: JSON.parse(r.data.toString()), metadata: JSON.parse(r.metadata.toString()) }));
    const lastCommand = records[records.length - 1]!.metadata.commandId;
    const serdReplay = records.filter((r) => r.metadata.agency === 'ledger').slice(-5, -3);
    expect(serdReplay.map((r) => [r.data.action, r.data.caseId, r.data.outcome])).toEqual([
      ['case.read-as-of', caseId, 'disclosed'],
      ['case.read-as-of', laterCaseId, 'disclosed'],
    ]);
    expect(new Set(serdReplay.map((r) => r.metadata.commandId)).size).toBe(1);
    expect(records.filter((r) => r.metadata.commandId === lastCommand)).toHaveLength(3);
  });

  it('replays one case as of now without --as-of', async () => {
    const view = await cli('replay', '--agency', AGENCIES.serd, '--case', laterCaseId);
    expect(view.code).toBe(0);
    expect(JSON.parse(view.out.join('\n'))).toMatchObject({ caseId: laterCaseId, needs: ['housing'] });
    expect((await cli('replay', '--agency', AGENCIES.serd, '--case', otherCaseId)).code).toBe(1);
  });

  it('exits 0 with no line, and says so, when no case of the zone existed for the agency at the instant', async () => {
    const none = await cli('replay', '--agency', AGENCIES.serd, '--as-of', '2020-01-01T00:00:00Z');
    expect(none).toMatchObject({ code: 0, out: [], err: [`no case of zone ${ZONE} existed for ${AGENCIES.serd} at 2020-01-01T00:00:00.000Z`] });
  });

  it('refuses a zone the ledger does not have, writing nothing: no pass over nothing, no checkpoint of an empty log, no trail in a zone that never was', async () => {
    const rowsOf = (file: string, table: string) => {
      const db = new Database(join(dataDir, file), { readonly: true });
      try {
        return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const ledgerRows = () => rowsOf('ledger.db', 'events');
    const checkpointRows = () => rowsOf('audit/checkpoints.db', 'checkpoints');
    const [events, checkpoints] = [ledgerRows(), checkpointRows()];
    for (const args of [
      ['verify', '--zone', 'valdinievol'],
      ['audit', 'checkpoint', '--zone', 'valdinievol'],
      ['replay', '--agency', AGENCIES.serd, '--zone', 'valdinievol'],
      ['export', '--zone', 'valdinievol'],
    ]) {
      const refused = await cli(...args);
      expect({ args, code: refused.code, first: refused.err[0]!.split('\n')[0] }).toEqual({
        args,
        code: 2,
        first: `--zone: the ledger has no zone "valdinievol" (its zones: ${ZONE})`,
      });
      expect(refused.out).toEqual([]);
    }
    expect([ledgerRows(), checkpointRows()]).toEqual([events, checkpoints]);
    expect((await cli('verify', '--zone', ZONE)).code).toBe(0);
  });

  it('refuses a case that is not a UUID and an instant that is not ISO-8601 UTC as usage errors, with one clear line', async () => {
    const refusals: Array<[string[], string]> = [
      [['--case', 'not-a-uuid'], 'replay: --case must be a case id (a UUID)'],
      [['--case', caseId, '--as-of', 'yesterday'], 'replay: --as-of must be an ISO-8601 UTC instant, such as 2025-06-02T09:00:00Z'],
      [['--as-of', '2025-02-30T09:00:00Z'], 'replay: --as-of must be an ISO-8601 UTC instant, such as 2025-06-02T09:00:00Z'],
      [['--as-of', '2025-06-02'], 'replay: --as-of must be an ISO-8601 UTC instant, such as 2025-06-02T09:00:00Z'],
      [['--as-of'], "replay: Option '--as-of <value>' argument missing"],
    ];
    for (const [args, message] of refusals) {
      const refused = await cli('replay', '--agency', AGENCIES.serd, ...args);
      expect({ args, code: refused.code, first: refused.err.join('\n').split('\n')[0] }).toEqual({ args, code: 2, first: message });
    }
    const built = spawnSync(process.execPath, [join(__dirname, '../../bin/ledger.js'), 'replay', '--agency', AGENCIES.serd, '--case', 'not-a-uuid'], {
      env: { ...process.env, DATA_DIR: dataDir },
      encoding: 'utf8',
    });
    expect(built.status).toBe(2);
    expect(built.stdout).toBe('');
    expect(built.stderr.split('\n')[0]).toBe('replay: --case must be a case id (a UUID)');
    expect(built.stderr).not.toMatch(/^\s+at /m);
  });

  it('verifies the same from the built command, whose worker threads read and hash ahead', () => {
    const run = spawnSync(process.execPath, [join(__dirname, '../../bin/ledger.js'), 'verify'], { env: { ...process.env, DATA_DIR: dataDir }, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout.split('\n')[0]!)).toMatchObject({ ok: true });
  });

  it('exits 1 with the first invalid position once a byte of the ledger is changed', async () => {
    const ledger = new Database(join(dataDir, 'ledger.db'));
    const row = ledger.prepare('SELECT position, data FROM events WHERE position = 2').get() as { position: number; data: Buffer };
    row.data[row.data.length - 1] = row.data[row.data.length - 1]! ^ 0xff;
    ledger.prepare('UPDATE events SET data = ? WHERE position = 2').run(row.data);
    ledger.close();
    const { code, out, err } = await cli('verify');
    expect(code).toBe(1);
    expect(JSON.parse(out[0]!)).toMatchObject({ ok: false, firstInvalidPosition: 2, reason: 'altered' });
    expect(err[0]).toMatch(/^NOT VERIFIED: .* \(first invalid position 2\)$/);
    const built = spawnSync(process.execPath, [join(__dirname, '../../bin/ledger.js'), 'verify'], { env: { ...process.env, DATA_DIR: dataDir }, encoding: 'utf8' });
    expect(built.status).toBe(1);
    expect(JSON.parse(built.stdout.split('\n')[0]!)).toMatchObject({ ok: false, firstInvalidPosition: 2, reason: 'altered' });
  });
});

/*
 * The service loads its checkpoint keys once: a key added beside it would sign the commands'
 * checkpoints while the service neither lists it nor knows it when verifying.
 */
describe('audit rotate-key beside a running service', () => {
  it('is refused while the service holds the data folder, and adds no key; it rotates once the service is stopped', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ledger-audit-rotate-'));
    const env = { DATA_DIR: dataDir };
    const run = async (...args: string[]) => {
      const c = capture();
      return { code: await runCli(args, c.io, env), out: c.out, err: c.err };
    };
    const keyFiles = () => readdirSync(join(dataDir, 'audit', 'keys')).filter((name) => name.endsWith('.json'));
    try {
      const service = await startService({ dataDir });
      try {
        const refused = await run('audit', 'rotate-key');
        expect(refused.code).toBe(1);
        expect(refused.out).toEqual([]);
        expect(refused.err[0]).toMatch(new RegExp(`^error: DATA_DIR ${dataDir} is in use by another ledger process .*; stop it first$`));
        expect(keyFiles()).toHaveLength(1);
        // Listing the keys beside the service is a read, as before.
        expect((await run('audit', 'keys')).code).toBe(0);
      } finally {
        await service.stop({ keepData: true });
      }
      const rotated = await run('audit', 'rotate-key');
      expect(rotated.code).toBe(0);
      expect(keyFiles()).toHaveLength(2);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
