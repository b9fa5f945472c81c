import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { type EventStore, zoneOfStream } from '../../events';
import type { Clock } from '../ledger/clock';
import { SqliteEventStore } from '../store/sqlite-event-store';
import { Audit, embeddedPositions } from './audit';
import { AuditFollower } from './audit-follower';
import { hashedInThread, pageOf, ParallelHashedEvents } from './hashed-events';
import { leafHashOf } from './merkle';

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
    const inThread = hashedInThread(
      (after, limit) => store.leafInputs(after, limit),
      (after, upTo, limit) => logs.leavesBetween(after, upTo, limit),
    );
    // Worker threads read and hash ahead of the walk, where the compiled worker exists and the
    // ledger is a file. The pool is kept between verifications (an auditor verifies again and
    // again): a new pair of threads spent about half of each run starting and warming up. A
    // verification that starts while another walks gets a pool of its own.
    const newPool = () => new ParallelHashedEvents(store.file, Math.min(2, availableParallelism()));
    let pool: ParallelHashedEvents | undefined;
    let walking = false;
    const hashed = () => {
      if (store.file === ':memory:' || !ParallelHashedEvents.available()) return { events: inThread, close: async () => undefined };
      if (walking) {
        const own = newPool();
        return { events: own.events, close: () => own.close() };
      }
      walking = true;
      if (pool?.stopped) void pool.close();
      if (!pool || pool.stopped) pool = newPool();
      pool.newWalk();
      return { events: pool.events, close: async () => void (walking = false) };
    };
    const audit = new Audit({ ...common, logs, hashed, durable: () => store.durable(), positions: embeddedPositions(store, logs) });
    return {
      audit,
      start: async () => undefined,
      close: async () => {
        await pool?.close();
        checkpoints.close();
      },
    };
  }
  const follower = new AuditFollower(join(auditDirOf(settings.dataDir), 'merkle.db'), store, onError);
  const audit = new Audit({
    ...common,
    logs: follower.logs,
    hashed: () => ({
      events: async (after, limit, head) => {
        const records = await follower.records(after, limit);
        const events = records.map((r) => ({ position: r.position, zone: zoneOfStream(r.stream), hash: leafHashOf(r) }));
        return pageOf(events, records.length === limit, (from, upTo, max) => follower.logs.leavesBetween(from, upTo, max), after, limit, head);
      },
      close: async () => undefined,
    }),
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
