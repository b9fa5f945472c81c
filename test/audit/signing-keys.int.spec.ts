import { createHash, verify } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointKeys } from '../../src/audit/signing-keys';

describe('the checkpoint-signing keys', () => {
  let dir: string;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'ledger-audit-keys-')), 'keys');
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('makes a key on first use, owner-only, named by the hash of its raw public key', () => {
    const keys = new CheckpointKeys(dir);
    const [key] = keys.list();
    expect(key).toMatchObject({ alg: 'Ed25519', active: true });
    expect(key!.keyId).toBe(createHash('sha256').update(Buffer.from(key!.publicKey, 'base64')).digest('hex').slice(0, 16));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const file of readdirSync(dir)) expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
  });

  it('signs with the newest key after a rotation, keeps the old ones, and finds them all again after a restart', () => {
    const keys = new CheckpointKeys(dir);
    const first = keys.sign(Buffer.from('before'));
    const rotated = keys.rotate();
    const second = keys.sign(Buffer.from('after'));
    expect(second.keyId).toBe(rotated.keyId);
    expect(second.keyId).not.toBe(first.keyId);
    const again = new CheckpointKeys(dir);
    expect(again.list().map((k) => [k.keyId, k.active])).toEqual([
      [first.keyId, false],
      [rotated.keyId, true],
    ]);
    expect(verify(null, Buffer.from('before'), again.publicKey(first.keyId)!, first.signature)).toBe(true);
    expect(verify(null, Buffer.from('after'), again.publicKey(second.keyId)!, second.signature)).toBe(true);
  });
});
