import { existsSync, readFileSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTokenVerifier } from '../../src/access/tokens';
import { openKeyStore, readModelCrypto } from '../../src/keys/open-keys';
import { createCodec } from '../../src/store/codec';
import { testKeys } from '../support/keys';
import { runCli } from '../../src/cli';
import { loadConfig } from '../../src/config';
import { ledgerReaderOf } from '../../src/store/open-event-store';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { ProjectionRunner } from '../../projections/projection-runner';
import { ReadModels } from '../../projections/read-models';
import { submitReferral } from '../../src/case/submit-referral';
import { AGENCIES, PERSON } from '../support/fixtures';
import { Seeder } from '../support/seed';
import { dumpViews } from '../support/views-dump';
import { startService } from '../support/test-app';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

describe('the ledger command', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'ledger-cli-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('issues a token that the service accepts, for the zone, agency, operator and roles asked', async () => {
    const { io, out, err } = capture();
    const code = await runCli(['token', '--zone', 'valdinievole', '--agency', 'sds-valdinievole', '--sub', 'as-neri', '--roles', 'operator,coordinator', '--ttl', '1h'], io, {
      DATA_DIR: dataDir,
    });
    expect({ code, err }).toEqual({ code: 0, err: [] });
    const verify = await createTokenVerifier(loadConfig({ DATA_DIR: dataDir }), ReadModels.open(':memory:', readModelCrypto(testKeys())));
    expect((await verify(out[0]!)).actor).toEqual({ zone: 'valdinievole', agency: 'sds-valdinievole', operator: 'as-neri', roles: ['operator', 'coordinator'] });
  });

  it('lists each command once in its help, every command it runs among them', async () => {
    const { io, out } = capture();
    expect(await runCli(['help'], io, { DATA_DIR: dataDir })).toBe(0);
    // A command's line: two spaces, the command and its arguments, then its description.
    const lines = out
      .join('\n')
      .split('\n')
      .filter((line) => /^ {2}[a-z]/.test(line));
    const forms = lines.map((line) => line.trim().split(/\s{2,}/)[0]!);
    expect(forms.length).toBe(new Set(forms).size);
    const commands = forms.map((form) => /^[a-z]+(?: [a-z][a-z-]*)?/.exec(form)![0]);
    for (const command of ['serve', 'token', 'rebuild', 'retention', 'keys rotate', 'keys backup', 'backup', 'verify', 'audit checkpoint', 'replay', 'export', 'protocol apply']) {
      expect(commands).toContain(command);
    }
  });

  it('refuses unknown roles and missing arguments', async () => {
    const bad = capture();
    expect(await runCli(['token', '--zone', 'valdinievole', '--agency', 'sds', '--sub', 'x', '--roles', 'god'], bad.io, { DATA_DIR: dataDir })).toBe(1);
    expect(bad.err.join('\n')).toMatch(/--roles: must be a comma-separated list/);
    const missing = capture();
    expect(await runCli(['token', '--zone', 'valdinievole'], missing.io, { DATA_DIR: dataDir })).toBe(1);
    expect(missing.err.join('\n')).toMatch(/--agency/);
  });

  it('signs tokens that live from a minute to 30 days, and no token born expired or never to expire', async () => {
    const args = ['token', '--zone', 'valdinievole', '--agency', 'sds-valdinievole', '--sub', 'x', '--roles', 'operator', '--ttl'];
    for (const ttl of ['0', '59s', '31d', '99999999999999999999d', '8 hours']) {
      const refused = capture();
      expect({ ttl, code: await runCli([...args, ttl], refused.io, { DATA_DIR: dataDir }), out: refused.out }).toEqual({ ttl, code: 1, out: [] });
      expect(refused.err.join('\n')).toMatch(/--ttl: (must be from 1 minute to 30 days|not a duration)/);
    }
    for (const [ttl, seconds] of [
      ['1m', 60],
      ['30d', 30 * 86_400],
    ] as const) {
      const signed = capture();
      expect(await runCli([...args, ttl], signed.io, { DATA_DIR: dataDir })).toBe(0);
      const claims = JSON.parse(Buffer.from(signed.out[0]!.split('.')[1]!, 'base64url').toString()) as { iat: number; exp: number };
      expect(claims.exp - claims.iat).toBe(seconds);
    }
  });

  it('takes a command line it cannot parse, or with words too many, as a usage error (exit 2), doing nothing', async () => {
    const nowhere = join(tmpdir(), `ledger-not-a-folder-${process.pid}`);
    for (const args of [
      ['token', '--zone', 'valdinievole', '--bogus', 'x'],
      ['verify', '--bogus'],
      ['verify', '--zone'],
      ['retention', '--dry'],
      ['export', 'valdinievole'],
      ['rebuild', '--force'],
      ['serve', '--port', '1'],
      ['keys', 'rotate', 'now'],
      ['keys', 'backup', 'a', 'b'],
      ['audit', 'keys', 'all'],
      ['audit', 'checkpoint', 'valdinievole'],
    ]) {
      const refused = capture();
      expect({ args, code: await runCli(args, refused.io, { DATA_DIR: nowhere }), out: refused.out }).toEqual({ args, code: 2, out: [] });
      expect(refused.err[0]).toMatch(new RegExp(`^${args[0]}`));
    }
    expect(existsSync(nowhere)).toBe(false);
  });

  it('refuses a protocol file that is not a JSON object with one line naming the file (exit 2), writing nothing', async () => {
    const files = mkdtempSync(join(tmpdir(), 'ledger-protocol-files-'));
    try {
      for (const [name, content, message] of [
        ['broken.json', '{"zone":', 'broken.json: '],
        ['null.json', 'null', "null.json holds no JSON object (a protocol's terms)"],
        ['array.json', '[1]', "array.json holds no JSON object (a protocol's terms)"],
      ] as const) {
        writeFileSync(join(files, name), content);
        const refused = capture();
        expect({ name, code: await runCli(['protocol', 'apply', '--zone', 'valdinievole', join(files, name)], refused.io, { DATA_DIR: join(files, 'data') }) }).toEqual({
          name,
          code: 2,
        });
        expect(refused.err[0]!.split('\n')[0]).toContain(`protocol apply: ${join(files, message)}`);
      }
      expect(readdirSync(files).sort()).toEqual(['array.json', 'broken.json', 'null.json']);
    } finally {
      rmSync(files, { recursive: true, force: true });
    }
  });

  it('applies the example protocol straight into the store, and renews it on a second apply', async () => {
    const first = capture();
    expect(await runCli(['protocol', 'apply', join(__dirname, '../../examples/valdinievole-protocol.json')], first.io, { DATA_DIR: dataDir })).toBe(0);
    expect(first.out[0]).toMatch(/^zone valdinievole: protocol version 1 signed \(7 parties, valid 2025-02-05 to 2030-02-04/);
    const second = capture();
    expect(await runCli(['protocol', 'apply', '--zone', 'valdinievole', join(__dirname, '../../examples/valdinievole-protocol.json')], second.io, { DATA_DIR: dataDir })).toBe(0);
    expect(second.out[0]).toMatch(/protocol version 2 signed/);
    const store = new SqliteEventStore(join(dataDir, 'ledger.db'));
    const events = await store.readStream('protocol-valdinievole');
    await store.close();
    expect(events.map((e) => [e.type, e.metadata.agency])).toEqual([
      ['ProtocolSigned', 'ledger'],
      ['ProtocolRenewed', 'ledger'],
    ]);
  });

  it('makes a renewal that widens what a party receives a proposal awaiting every party, as PUT /v1/protocol does', async () => {
    const example = JSON.parse(readFileSync(join(__dirname, '../../examples/valdinievole-protocol.json'), 'utf8')) as { parties: Array<{ agency: string; receivable?: string[] }> };
    expect(await runCli(['protocol', 'apply', join(__dirname, '../../examples/valdinievole-protocol.json')], capture().io, { DATA_DIR: dataDir })).toBe(0);
    const widened = join(dataDir, 'widened.json');
    writeFileSync(widened, JSON.stringify({ ...example, parties: example.parties.map((p) => (p.agency === 'arti-cpi-pescia' ? { ...p, receivable: ['common', 'health'] } : p)) }));
    const proposal = capture();
    expect(await runCli(['protocol', 'apply', widened], proposal.io, { DATA_DIR: dataDir })).toBe(0);
    expect(proposal.out[0]).toMatch(/widens what some party receives: proposal [0-9a-f-]{36} awaits the approval of sds-valdinievole, arti-cpi-pescia, /);
    const store = new SqliteEventStore(join(dataDir, 'ledger.db'));
    const events = await store.readStream('protocol-valdinievole');
    await store.close();
    expect(events.map((e) => e.type)).toEqual(['ProtocolSigned', 'ProtocolRenewalProposed']);
  });

  it('explains an invalid protocol file path by path', async () => {
    const file = join(dataDir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({ zone: 'valdinievole', title: 'x', validFrom: '2025-01-01', validUntil: '2026-01-01', parties: [{ agency: 'A B', name: 'x', kind: 'bank' }] }),
    );
    const { io, err } = capture();
    expect(await runCli(['protocol', 'apply', file], io, { DATA_DIR: dataDir })).toBe(1);
    expect(err.join('\n')).toMatch(/parties\.0\.agency/);
    expect(err.join('\n')).toMatch(/parties\.0\.kind/);
  });

  it('stops on a bad setting with one line naming it', async () => {
    const { io, err } = capture();
    expect(await runCli(['token', '--zone', 'z', '--agency', 'a', '--sub', 's', '--roles', 'operator'], io, { DATA_DIR: dataDir, LOG_LEVEL: 'chatty' })).toBe(1);
    expect(err).toEqual([expect.stringMatching(/^configuration: LOG_LEVEL must be one of/)]);
  });

  it('prints its usage for an unknown command', async () => {
    const { io, err } = capture();
    expect(await runCli(['dance'], io, {})).toBe(2);
    expect(err.join('\n')).toMatch(/unknown command "dance"[\s\S]*usage: ledger/);
  });
});

describe('ledger rebuild', () => {
  /** A views file of a data folder, opened (or built) as the service does: reading the folder's ledger for a case's events. */
  function folderViews(dataDir: string, file = 'views.db', how: 'open' | 'build' = 'open') {
    const keys = openKeyStore({ dataDir });
    const store = new SqliteEventStore(join(dataDir, 'ledger.db'), { codec: createCodec(keys) });
    let models: ReadModels;
    try {
      models = ReadModels[how](join(dataDir, file), readModelCrypto(keys), undefined, ledgerReaderOf(store));
    } catch (error) {
      void store.close().finally(() => keys.close());
      throw error;
    }
    return {
      models,
      close: async () => {
        models.close();
        await store.close();
        keys.close();
      },
    };
  }

  /**
   * A data folder with the service's own key store (ledger rebuild opens it to read the ledger),
   * the protocol and `referrals` referrals, projected into `viewsFile` there; the views dumped.
   */
  async function seededFolder(dataDir: string, referrals: number, viewsFile: string) {
    const keys = openKeyStore({ dataDir });
    const store = new SqliteEventStore(join(dataDir, 'ledger.db'), { codec: createCodec(keys) });
    try {
      const seed = new Seeder(store);
      await seed.protocol();
      const caseIds: string[] = [];
      for (let i = 0; i < referrals; i++) caseIds.push((await seed.run(AGENCIES.serd, submitReferral, { person: PERSON, needs: ['addiction'] })).caseId);
      const models = ReadModels.open(join(dataDir, viewsFile), readModelCrypto(keys), undefined, ledgerReaderOf(store));
      await new ProjectionRunner(store, models).runUntilCaughtUp();
      const views = dumpViews(models);
      models.close();
      return { caseIds, views };
    } finally {
      await store.close();
      keys.close();
    }
  }

  it('projects the whole ledger again into fresh views, equal to the ones it replaces', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ledger-rebuild-'));
    try {
      const { views: expected } = await seededFolder(dataDir, 5, 'views.db');

      const { io, out } = capture();
      expect(await runCli(['rebuild'], io, { DATA_DIR: dataDir })).toBe(0);
      expect(out[0]).toMatch(/^rebuilt the views from position 0: 6 events in/);
      const { models: after, close } = folderViews(dataDir);
      expect(dumpViews(after)).toEqual(expected);
      // Written without its write-ahead log, then made a WAL file again for the service; owner-only; no marker left.
      expect(after.db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(statSync(join(dataDir, 'views.db')).mode & 0o777).toBe(0o600);
      expect(existsSync(join(dataDir, 'views.db.building'))).toBe(false);
      await close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('leaves a rebuild stopped halfway marked: no one reads the file, a new rebuild starts over, the service computes the views again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ledger-rebuild-'));
    try {
      const {
        caseIds: [caseId],
        views: expected,
      } = await seededFolder(dataDir, 1, 'reference.db');
      // A build stopped before its end: some views written, the file left as it was, its marker beside it.
      const stopped = folderViews(dataDir, 'views.db', 'build');
      stopped.models.transaction(() => stopped.models.saveCheckpoint('0/0'));
      await stopped.close();
      expect(() => folderViews(dataDir)).toThrow(/being rebuilt, or its rebuild was stopped halfway/);

      expect(await runCli(['rebuild'], capture().io, { DATA_DIR: dataDir })).toBe(0);
      expect(existsSync(join(dataDir, 'views.db.building'))).toBe(false);

      // Stopped halfway again; this time the service starts on the folder.
      await folderViews(dataDir, 'views.db', 'build').close();
      const service = await startService({ dataDir });
      try {
        expect(service.logs.some((line) => line.includes('a rebuild of the views was stopped halfway'))).toBe(true);
        const read = await service.request('GET', `/v1/cases/${caseId}`, { as: { agency: AGENCIES.serd } });
        expect(read.status).toBe(200);
      } finally {
        await service.stop({ keepData: true });
      }
      const { models: computed, close } = folderViews(dataDir);
      // The same views, and the one read since on the trail.
      const { trail, trail_owners: _owners, ...views } = dumpViews(computed);
      const { trail: _none, trail_owners: _noOwners, ...projected } = expected;
      expect(views).toEqual(projected);
      expect(trail).toEqual([expect.objectContaining({ action: 'case.read', case_id: caseId, outcome: 'disclosed' })]);
      await close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
