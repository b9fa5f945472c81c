import Database from 'better-sqlite3';
import { join } from 'node:path';
import { caseStream } from '../../events';
import { AGENCIES, PERSON, ZONE } from '../support/fixtures';
import { signProtocol, startService, type TestService } from '../support/test-app';

/*
 * Issue 13.4: Idempotency-Key as API.md says: 24 hours, then the key is free; an answer that
 * could not be kept never turns an applied command into a 500; the record and the events agree.
 */
describe('Idempotency-Key over its window', () => {
  let now = Date.parse('2025-06-02T09:00:00Z');
  const clock = { now: () => new Date(now) };
  let service: TestService;
  const serd = { agency: AGENCIES.serd, roles: ['operator' as const] };
  const sds = { agency: AGENCIES.sds, roles: ['operator' as const, 'coordinator' as const] };

  beforeAll(async () => {
    service = await startService({ clock });
    await signProtocol(service);
  });
  afterAll(async () => service?.stop());

  async function refer(): Promise<string> {
    const r = await service.request('POST', '/v1/referrals', { as: serd, body: { person: PERSON, needs: ['employment'] } });
    expect(r.status).toBe(201);
    return r.body.caseId;
  }
  const types = async (caseId: string) => (await service.store.readStream(caseStream(ZONE, caseId))).map((e) => e.type);
  const note = (caseId: string, text: string, key: string) =>
    service.request('POST', `/v1/cases/${caseId}/notes`, { as: sds, body: { notes: [{ category: 'common', text }] }, headers: { 'idempotency-key': key } });

  it('frees a key after 24 hours: a reuse is a new command, on any case, never the old answer', async () => {
    const [a, b] = [await refer(), await refer()];
    const first = await note(a, 'first', 'k-day');
    const other = await note(a, 'other', 'k-other-case');
    expect([first.status, other.status]).toEqual([201, 201]);
    now += 24 * 60 * 60 * 1000 + 60_000;
    // The same request a day later: applied again, a new command.
    const again = await note(a, 'first', 'k-day');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(again.body.revision).toBe(other.body.revision + 1);
    // A key reused a day later on another case: that case's command, not a collision with the old one.
    const elsewhere = await note(b, 'a day later', 'k-other-case');
    expect(elsewhere.status).toBe(201);
    expect(await types(b)).toEqual(['ReferralSubmitted', 'NoteRecorded']);
    expect(await types(a)).toEqual(['ReferralSubmitted', 'NoteRecorded', 'NoteRecorded', 'NoteRecorded']);
  });

  it('answers a command that was applied even when its answer cannot be kept, and a repeat runs as the same command', async () => {
    const caseId = await refer();
    const idempotency = service.ledger.parts.idempotency;
    const complete = idempotency.complete.bind(idempotency);
    idempotency.complete = () => {
      throw new Error('disk I/O error');
    };
    try {
      const applied = await note(caseId, 'kept once', 'k-lost-answer');
      expect(applied.status).toBe(201);
      // The repeat finds the reservation without an answer: the same command again, recognised by the ledger.
      idempotency.complete = complete;
      const repeat = await note(caseId, 'kept once', 'k-lost-answer');
      expect(repeat.status).toBe(201);
      expect(repeat.body).toEqual(applied.body);
      expect(await types(caseId)).toEqual(['ReferralSubmitted', 'NoteRecorded']);
    } finally {
      idempotency.complete = complete;
    }
  });

  it('reserves a key before its command runs, on disk, and frees it when the command is refused', async () => {
    const caseId = await refer();
    const refused = await service.request('POST', `/v1/cases/${caseId}/closure`, { as: sds, body: { reason: 'objectives-achieved' }, headers: { 'idempotency-key': 'k-refused' } });
    expect(refused.status).toBe(422);
    // A refused command wrote nothing: the key may carry another request.
    expect((await note(caseId, 'after a refusal', 'k-refused')).status).toBe(201);
    const db = new Database(join(service.dataDir, 'idempotency.db'), { readonly: true });
    // Keys are filed under a keyed hash (a client may put personal data in them), none in clear.
    const filed = service.ledger.parts.keys.fingerprint('idempotency-key\u0000k-refused');
    const row = db.prepare('SELECT command_id, status FROM idempotency WHERE key = ?').get(filed) as { command_id: string; status: number };
    const clear = db.prepare("SELECT count(*) AS n FROM idempotency WHERE key = 'k-refused'").get() as { n: number };
    db.close();
    expect({ row, clear: clear.n }).toEqual({ row: { command_id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 201 }, clear: 0 });
  });

  it('refuses a body nested 10,000 deep with 400, not 500', async () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const caseId = await refer();
    const response = await service.request('POST', `/v1/cases/${caseId}/notes`, {
      as: sds,
      rawBody: `{"notes":${deep}}`,
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k-deep' },
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'validation' });
  });
});
