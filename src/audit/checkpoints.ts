import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkpointBytes, type SignedCheckpoint } from './auditor';
import type { CheckpointKeys } from './signing-keys';
import { columnExists } from '../store/sqlite-schema';

/**
 * Signed checkpoints (zone, size, root, time) of the zones' Merkle logs, in a file of their own
 * (DATA_DIR/audit/checkpoints.db). They are what makes the log tamper-evident against whoever
 * can edit the ledger's file: a rewritten history no longer has the signed root, and a ledger
 * cut short has fewer events than a signed size. Auditors copy them out (GET
 * /v1/audit/checkpoints), so a copy held elsewhere outlives an edit of this file too.
 */
export class Checkpoints {
  private readonly db: Database.Database;
  private readonly s;

  constructor(
    file: string,
    private readonly keys: CheckpointKeys,
  ) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS checkpoints (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, zone TEXT NOT NULL, size INTEGER NOT NULL, root TEXT NOT NULL,
        at TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS checkpoints_by_zone ON checkpoints (zone, size, seq);
    `);
    // The command a checkpoint was signed for (an Idempotency-Key's), so that a repeat after a
    // crash finds it; a file of an earlier version gets the column, empty for what it holds.
    if (!columnExists(this.db, 'checkpoints', 'command_id')) this.db.exec('ALTER TABLE checkpoints ADD COLUMN command_id TEXT');
    this.db.exec('CREATE UNIQUE INDEX IF NOT EXISTS checkpoints_by_command ON checkpoints (command_id) WHERE command_id IS NOT NULL');
    this.s = {
      insert: this.db.prepare<[string, number, string, string, string, string, string | null]>(
        'INSERT INTO checkpoints (zone, size, root, at, key_id, signature, command_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      byCommand: this.db.prepare<[string], SignedCheckpoint>('SELECT zone, size, root, at, key_id AS keyId, signature FROM checkpoints WHERE command_id = ?'),
      after: this.db.prepare<[string, number, number], SignedCheckpoint>(
        'SELECT zone, size, root, at, key_id AS keyId, signature FROM checkpoints WHERE zone = ? AND size > ? ORDER BY size, seq LIMIT ?',
      ),
      all: this.db.prepare<[], SignedCheckpoint>('SELECT zone, size, root, at, key_id AS keyId, signature FROM checkpoints ORDER BY zone, size, seq'),
      latest: this.db.prepare<[string], SignedCheckpoint>('SELECT zone, size, root, at, key_id AS keyId, signature FROM checkpoints WHERE zone = ? ORDER BY seq DESC LIMIT 1'),
    };
  }

  /** Signs and keeps a checkpoint, for a command if one asked for it; durable when it returns. */
  sign(zone: string, size: number, root: Uint8Array, at: Date, commandId?: string): SignedCheckpoint {
    const unsigned = { zone, size, root: Buffer.from(root).toString('base64'), at: at.toISOString() };
    const { keyId, signature } = this.keys.sign(checkpointBytes(unsigned));
    const checkpoint: SignedCheckpoint = { ...unsigned, keyId, signature: signature.toString('base64') };
    this.s.insert.run(zone, size, checkpoint.root, checkpoint.at, keyId, checkpoint.signature, commandId ?? null);
    return checkpoint;
  }

  /** The checkpoint signed for this command, if there is one. */
  ofCommand(commandId: string): SignedCheckpoint | undefined {
    return this.s.byCommand.get(commandId);
  }

  /** A zone's checkpoints of more than `afterSize` events, smallest first. */
  after(zone: string, afterSize: number, limit: number): SignedCheckpoint[] {
    return this.s.after.all(zone, afterSize, limit);
  }

  /** Every checkpoint of every zone (verification). */
  all(): SignedCheckpoint[] {
    return this.s.all.all();
  }

  latest(zone: string): SignedCheckpoint | undefined {
    return this.s.latest.get(zone);
  }

  close(): void {
    this.db.close();
  }
}
