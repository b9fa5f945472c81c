import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The master key that wraps every person's data key (envelope encryption). The interface is the
 * one a KMS offers (wrap, unwrap, a key id), so that a production deployment can keep the master
 * key in an HSM or a cloud KMS; the embedded implementation keeps it in files.
 */
export interface MasterKey {
  /** Names this key in every wrapped data key, so that a key store knows which master opens it. */
  readonly id: string;
  wrap(plaintext: Buffer, context: string): Buffer;
  unwrap(wrapped: Buffer, context: string): Buffer;
}

/** Every master key the key store may meet (current and retired), and the current one. */
export interface MasterKeyring {
  readonly current: MasterKey;
  get(id: string): MasterKey | undefined;
  /** Makes a new master key the current one; the old ones stay, retired, to open old backups. */
  rotate(): MasterKey;
}

const IV = 12;
const TAG = 16;

/** AES-256-GCM key wrapping, the context (the subject id) as associated data. */
export class LocalMasterKey implements MasterKey {
  readonly id: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('a master key is 32 bytes');
    this.id = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  wrap(plaintext: Buffer, context: string): Buffer {
    const iv = randomBytes(IV);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`${this.id}\u0000${context}`));
    return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }

  /** The key as its file holds it. */
  serialise(): string {
    return this.key.toString('base64');
  }

  unwrap(wrapped: Buffer, context: string): Buffer {
    const decipher = createDecipheriv('aes-256-gcm', this.key, wrapped.subarray(0, IV));
    decipher.setAAD(Buffer.from(`${this.id}\u0000${context}`));
    decipher.setAuthTag(wrapped.subarray(wrapped.length - TAG));
    return Buffer.concat([decipher.update(wrapped.subarray(IV, wrapped.length - TAG)), decipher.final()]);
  }
}

/**
 * Master keys as files in one folder, owner-only: `<id>.key` (32 random bytes, base64) for each
 * key ever used, and `current` naming the one new data keys are wrapped with. Embedded mode keeps
 * the folder in DATA_DIR/keys/master; MASTER_KEY_DIR points elsewhere (a mounted secret).
 * A key file is written aside and linked into place, so two processes starting together end up
 * with one key, never half of one.
 */
export class FileMasterKeyring implements MasterKeyring {
  private readonly keys = new Map<string, MasterKey>();
  private currentId: string;

  private constructor(private readonly dir: string) {
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.key')) continue;
      const key = new LocalMasterKey(Buffer.from(readFileSync(join(dir, name), 'utf8').trim(), 'base64'));
      this.keys.set(key.id, key);
    }
    const current = existsSync(join(dir, 'current')) ? readFileSync(join(dir, 'current'), 'utf8').trim() : undefined;
    if (current && !this.keys.has(current)) throw new Error(`the master key ${current} named current is not in ${dir}`);
    this.currentId = current ?? this.create().id;
  }

  static open(dir: string): FileMasterKeyring {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    return new FileMasterKeyring(dir);
  }

  get current(): MasterKey {
    return this.keys.get(this.currentId)!;
  }

  get(id: string): MasterKey | undefined {
    return this.keys.get(id);
  }

  rotate(): MasterKey {
    return this.create();
  }

  private create(): MasterKey {
    const key = new LocalMasterKey(randomBytes(32));
    const file = join(this.dir, `${key.id}.key`);
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, key.serialise(), { mode: 0o600 });
    linkSync(partial, file);
    rmSync(partial);
    this.keys.set(key.id, key);
    this.setCurrent(key.id);
    return key;
  }

  private setCurrent(id: string): void {
    const partial = join(this.dir, `current.${process.pid}.tmp`);
    writeFileSync(partial, id, { mode: 0o600 });
    renameSync(partial, join(this.dir, 'current'));
    this.currentId = id;
  }
}
