import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ValidationFailed } from '../../src/errors';
import { Cursors } from '../../src/http/cursor';
import { KeyStore } from '../../src/keys/key-store';
import { FileMasterKeyring } from '../../src/keys/master-keys';

describe('paging cursors', () => {
  const Seq = z.object({ s: z.int().min(1) });
  const place = ['trail', 'valdinievole', 'cpi-valdinievole', 'by-us'];
  let dir: string;
  let keys: KeyStore;
  let cursors: Cursors;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cursors-'));
    keys = new KeyStore(join(dir, 'keys.db'), FileMasterKeyring.open(dir));
    cursors = new Cursors(keys);
  });
  afterEach(() => {
    keys.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('come back as what was sealed, where they were given', () => {
    expect(cursors.open(cursors.seal({ s: 4242 }, place), Seq, place)).toEqual({ s: 4242 });
  });

  it('say nothing of where the next page starts', () => {
    // The trail's row numbers are shared by every agency: a DPO comparing two cursors would learn how many records others made.
    const cursor = cursors.seal({ s: 4242 }, place);
    expect(Buffer.from(cursor, 'base64url').toString('latin1')).not.toContain('4242');
    expect(cursors.seal({ s: 4242 }, place)).not.toBe(cursor);
    // Not even by its length: a row number's digits would tell its order of magnitude.
    expect(cursors.seal({ s: 4243 }, place)).toHaveLength(cursor.length);
    expect(cursors.seal({ s: 1 }, place)).toHaveLength(cursor.length);
    expect(cursors.seal({ s: 123_456_789_012 }, place)).toHaveLength(cursor.length);
  });

  it('are refused anywhere else: another agency, scope or route, altered, or made by hand', () => {
    const cursor = cursors.seal({ s: 7 }, place);
    const elsewhere = [
      ['trail', 'valdinievole', 'serd-valdinievole', 'by-us'],
      ['trail', 'valdinievole', 'cpi-valdinievole', 'of-our-data'],
      ['audit-events', 'valdinievole'],
    ];
    for (const other of elsewhere) expect(() => cursors.open(cursor, Seq, other)).toThrow(ValidationFailed);
    const altered = Buffer.from(cursor, 'base64url');
    altered[altered.length - 20]! ^= 1;
    expect(() => cursors.open(altered.toString('base64url'), Seq, place)).toThrow(ValidationFailed);
    expect(() => cursors.open(Buffer.from('{"s":7}').toString('base64url'), Seq, place)).toThrow(ValidationFailed);
    expect(() => cursors.open('', Seq, place)).toThrow(ValidationFailed);
  });

  it('still open after a restart and after the master key is rotated', () => {
    const cursor = cursors.seal({ s: 9 }, place);
    keys.close();
    const masters = FileMasterKeyring.open(dir);
    masters.rotate();
    keys = new KeyStore(join(dir, 'keys.db'), masters);
    keys.rewrapAll();
    keys.close();
    keys = new KeyStore(join(dir, 'keys.db'), FileMasterKeyring.open(dir));
    expect(new Cursors(keys).open(cursor, Seq, place)).toEqual({ s: 9 });
  });
});
