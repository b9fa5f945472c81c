import { join } from 'node:path';
import type { EventStore } from '../../events';
import type { Clock } from '../ledger/clock';
import { SqliteEventStore } from '../store/sqlite-event-store';
import { Audit } from './audit';
import { Checkpoints } from './checkpoints';
import { CheckpointKeys } from './signing-keys';

export interface AuditSettings {
  readonly dataDir: string;
  /** Where the checkpoint-signing keys are; DATA_DIR/audit/keys by default. */
  readonly auditKeyDir?: string;
}

/** Where the checkpoints and (by default) their keys live. */
export const auditDirOf = (dataDir: string) => join(dataDir, 'audit');

/**
 * The auditors' side of a ledger: its zones' Merkle logs, the signed checkpoints and their
 * keys. Undefined for a store that keeps no log (EventStoreDB: see docs/OPERATIONS.md).
 */
export function openAudit(settings: AuditSettings, store: EventStore, clock: Clock): { audit: Audit; close: () => void } | undefined {
  if (!(store instanceof SqliteEventStore) || !store.zoneLogs) return undefined;
  const keys = new CheckpointKeys(settings.auditKeyDir ?? join(auditDirOf(settings.dataDir), 'keys'));
  const checkpoints = new Checkpoints(join(auditDirOf(settings.dataDir), 'checkpoints.db'), keys);
  const audit = new Audit({ store, logs: store.zoneLogs, records: (after, limit) => store.records(after, limit), checkpoints, keys, clock });
  return { audit, close: () => checkpoints.close() };
}
