import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Actor } from '../../src/access/actor';
import { IDEMPOTENCY_WINDOW_MS, IdempotencyStore } from '../../src/idempotency/idempotency-store';
import { sharedReservations } from '../../src/idempotency/shared-reservations';
import { SqliteEventStore } from '../../src/store/sqlite-event-store';
import { AGENCIES, ZONE } from '../support/fixtures';

/*
 * Issue 14.8: in EventStoreDB mode several instances share one ledger. An Idempotency-Key is
 * reserved through it, so a retry that lands on another instance runs as the same command.
 * Here one embedded store stands for the shared ledger, with two instances' own files beside it.
 */
describe('Idempotency-Keys shared by the instances of one ledger', () => {
  let dir: string;
  let ledger: SqliteEventStore;
  const hash = (text: string) => createHmac('sha256', 'secret').update(text).digest('hex');
  const actor: Actor = { zone: ZONE, agency: AGENCIES.sds, operator: 'as-neri', roles: ['operator'] };
  const fp = (body: string) => hash(`POST /v1/cases/x/notes\n${body}`);
  let a: ReturnType<typeof sharedReservations>;
  let b: ReturnType<typeof sharedReservations>;
  const now = Date.parse('2025-06-02T09:00:00Z');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-shared-keys-'));
    ledger = new SqliteEventStore(join(dir, 'ledger.db'));
    a = sharedReservations(ledger, hash, new IdempotencyStore(':memory:', hash));
    b = sharedReservations(ledger, hash, new IdempotencyStore(':memory:', hash));
  });
  afterEach(async () => {
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives a retry on another instance the same command, and refuses the key for another request', async () => {
    const first = await a.reserve(actor, 'k-1', fp('one'), now);
    const retry = await b.reserve(actor, 'k-1', fp('one'), now + 1_000);
    expect(retry).toEqual({ commandId: (first as { commandId: string }).commandId });
    expect(await b.reserve(actor, 'k-1', fp('two'), now + 2_000)).toBe('reused');
    // The instance that answered gives the answer it kept.
    a.complete(actor, 'k-1', retry !== 'reused' ? retry.commandId : '', { status: 201, body: { revision: 3 } });
    expect(await a.reserve(actor, 'k-1', fp('one'), now + 3_000)).toMatchObject({ response: { status: 201, body: { revision: 3 } } });
  });

  it('lets exactly one of two instances racing for a new key make the reservation', async () => {
    const [x, y] = await Promise.all([a.reserve(actor, 'k-race', fp('one'), now), b.reserve(actor, 'k-race', fp('one'), now)]);
    expect(x).toEqual(y);
    const events = await ledger.readAll({ maxCount: 100, streamPrefixes: ['idempotency-'] });
    expect(events.filter((e) => e.type === 'IdempotencyKeyReserved')).toHaveLength(1);
  });

  it('frees a key after 24 hours and after a refusal, and never writes the key itself', async () => {
    const first = await a.reserve(actor, 'mario-rossi-referral', fp('one'), now);
    const later = await b.reserve(actor, 'mario-rossi-referral', fp('two'), now + IDEMPOTENCY_WINDOW_MS + 1);
    expect(later).not.toBe('reused');
    expect(later).not.toEqual(first);
    if (later === 'reused') return;
    await b.release(actor, 'mario-rossi-referral', later.commandId, now + IDEMPOTENCY_WINDOW_MS + 2);
    expect(await a.reserve(actor, 'mario-rossi-referral', fp('three'), now + IDEMPOTENCY_WINDOW_MS + 3)).not.toBe('reused');
    const events = await ledger.readAll({ maxCount: 100, streamPrefixes: ['idempotency-'] });
    const bytes = events.map((e) => `${e.stream}${JSON.stringify(e.data)}${JSON.stringify(e.metadata)}`).join('\n');
    expect(bytes).not.toContain('mario');
  });
});
