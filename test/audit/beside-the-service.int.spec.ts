import { mkdtempSync, type NoParamCallback, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OpenedAudit, openAudit } from '../../src/audit/open-audit';
import { Disclosures } from '../../src/reads/disclosures';
import { createCodec } from '../../src/store/codec';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { AGENCIES, ZONE } from '../support/fixtures';
import { testKeys } from '../support/keys';
import { Seeder } from '../support/seed';

/*
 * The service and a command (`ledger audit checkpoint`, `ledger export`) on one data folder at
 * once: two connections to ledger.db, each with its own audit object.
 */

/** The module object itself (what the store calls through), not a copy made for `import * as`. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fs = require('node:fs') as typeof import('node:fs');

const clock = { now: () => new Date('2025-06-02T09:00:00Z') };

describe('the audit of a ledger another process writes to', () => {
  let dir: string;
  let service: { store: SqliteEventStore; opened: OpenedAudit };
  let command: { store: SqliteEventStore; opened: OpenedAudit };

  const open = (dataDir: string) => {
    const store = new SqliteEventStore(join(dataDir, 'ledger.db'), { codec: createCodec(testKeys()) });
    return { store, opened: openAudit({ dataDir }, store, clock) };
  };
  const readBy = (store: SqliteEventStore, requestId: string) =>
    new Disclosures(store, clock).record({ zone: ZONE, agency: AGENCIES.cpi, operator: 'op', roles: ['operator'] }, 'case.read', [{ caseId: '*', outcome: 'not-found' }], {
      requestId,
      purpose: 'case-management',
    });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-beside-'));
    service = open(dir);
    await new Seeder(service.store, clock).protocol();
    await readBy(service.store, 'r1');
    command = open(dir);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const side of [command, service]) {
      await side.opened.close();
      await side.store.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('syncs the write-ahead log before a command signs, though the commits it sees are the service’s and not its own', async () => {
    // The service's commits are visible to the command before the service's own sync of them.
    const synced: number[] = [];
    const fdatasync = fs.fdatasync;
    jest.spyOn(fs, 'fdatasync').mockImplementation((fd: number, callback: NoParamCallback) => {
      synced.push(fs.fstatSync(fd).ino);
      fdatasync(fd, callback);
    });
    await command.store.durable();
    expect(synced).toContain(fs.statSync(join(dir, 'ledger.db-wal')).ino);

    synced.length = 0;
    const signed = await command.opened.audit.checkpoint(ZONE);
    expect(signed.size).toBe(service.store.zoneLogs!.size(ZONE));
    expect(synced).toContain(fs.statSync(join(dir, 'ledger.db-wal')).ino);
  });

  it('proves and signs what the command appended, at the service’s very next request', async () => {
    // The service knows the sizes of its logs.
    const before = (await service.opened.audit.checkpoint(ZONE)).size;
    await readBy(command.store, 'cli');
    const position = Number((await command.store.headPosition())!.commit);
    const size = command.store.zoneLogs!.size(ZONE);
    expect(size).toBe(before + 1);

    const proof = await service.opened.audit.inclusion(ZONE, position);
    expect(proof).toMatchObject({ leafIdx: size - 1, treeSize: size });
    expect((await service.opened.audit.consistency(ZONE, before, size)).size2).toBe(size);
    expect((await service.opened.audit.checkpoint(ZONE)).size).toBe(size);
  });
});
