import { hash } from 'node:crypto';
import { join } from 'node:path';
import type { EventStore } from '../../events';
import type { Clock } from '../ledger/clock';
import { SqliteEventStore } from '../store/sqlite-event-store';
import { Audit, embeddedPositions } from './audit';
import { AuditFollower } from './audit-follower';
import { leafHashOf } from './merkle';

const sha256 = (bytes: Uint8Array) => hash('sha256', bytes, 'buffer');
import { Checkpoints } from './checkpoints';
import { CheckpointKeys } from './signing-keys';

export interface AuditSettings {
  readonly dataDir: string;
  /** Where the checkpoint-signing keys are; DATA_DIR/audit/keys by default. */
  readonly auditKeyDir?: string;
}

/** Where the checkpoints and (by default) their keys live. */
export const auditDirOf = (dataDir: string) => join(dataDir, 'audit');

export interface OpenedAudit {
  readonly audit: Audit;
  /** Starts following the store where a follower keeps the logs (else nothing to do); the first audit read starts it too. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The auditors' side of a ledger: its zones' Merkle logs, the signed checkpoints and their
 * keys. The embedded store keeps the logs in its own append transaction; for a store that keeps
 * none (EventStoreDB), a follower builds them in DATA_DIR/audit/merkle.db, started here.
 */
export function openAudit(settings: AuditSettings, store: EventStore, clock: Clock, onError?: (error: unknown) => void): OpenedAudit {
  const keys = new CheckpointKeys(settings.auditKeyDir ?? join(auditDirOf(settings.dataDir), 'keys'));
  const checkpoints = new Checkpoints(join(auditDirOf(settings.dataDir), 'checkpoints.db'), keys);
  const common = { store, checkpoints, keys, clock };
  if (store instanceof SqliteEventStore && store.zoneLogs) {
    const logs = store.zoneLogs;
    const hashed = (after: number, limit: number) => store.leafInputs(after, limit).map(([position, stream, leaf]) => ({ position, stream, hash: sha256(leaf) }));
    const audit = new Audit({ ...common, logs, hashed, positions: embeddedPositions(store, logs) });
    return { audit, start: async () => undefined, close: async () => checkpoints.close() };
  }
  const follower = new AuditFollower(join(auditDirOf(settings.dataDir), 'merkle.db'), store, onError);
  const audit = new Audit({
    ...common,
    logs: follower.logs,
    hashed: async (after, limit) => (await follower.records(after, limit)).map((r) => ({ position: r.position, stream: r.stream, hash: leafHashOf(r) })),
    caughtUp: async () => {
      await follower.start();
      await follower.caughtUp();
    },
    positions: {
      head: async () => follower.head(),
      storeAfter: (position) => follower.positionOf(position),
      of: (stored) => follower.ordinalOf(stored),
    },
  });
  return {
    audit,
    start: () => follower.start(),
    close: async () => {
      await follower.stop();
      checkpoints.close();
    },
  };
}
