import type { KeyObject } from 'node:crypto';
import { verify } from 'node:crypto';
import { checkpointBytes, type SignedCheckpoint } from './auditor';
import { HASH_SIZE, MemoryNodeStore, MerkleLog } from './merkle';
import type { LogLeaf, ZoneLogs } from './zone-logs';

/** Why verification failed (README "Auditors: verification"). */
export const VERIFY_REASONS = {
  altered: "the event's stored bytes differ from those its leaf was made of",
  missing: 'an event the log recorded is gone from the ledger',
  'not-in-log': 'an event in the ledger was never recorded in the log (written around the service)',
  'log-altered': "the log's own records were changed",
  'checkpoint-forged': 'a checkpoint does not match its signature',
  'checkpoint-key-unknown': 'a checkpoint is signed by a key that is not among the checkpoint keys',
  'checkpoint-mismatch': "the ledger's tree at a checkpoint's size does not have the signed root",
  truncated: 'the ledger holds fewer events than a signed checkpoint covers',
} as const;
export type VerifyReason = keyof typeof VERIFY_REASONS;

export interface Problem {
  readonly zone: string;
  readonly reason: VerifyReason;
  /** The ledger position where the ledger stops being what was logged and signed, where known. */
  readonly position?: number;
  readonly checkpoint?: { readonly size: number; readonly at: string };
}

export interface VerificationReport {
  readonly ok: boolean;
  readonly eventsChecked: number;
  readonly checkpointsChecked: number;
  readonly firstInvalidPosition?: number;
  readonly reason?: VerifyReason;
  readonly detail?: string;
  readonly zone?: string;
  readonly checkpoint?: { readonly size: number; readonly at: string };
}

/** An event as verification sees it: where it is, its stream's zone, and the leaf hash of its bytes as stored. */
export interface HashedEvent {
  readonly position: number;
  readonly zone: string;
  readonly hash: Buffer;
}

/** Events of a page column by column: the i-th is at `positions[i]`, in `zones[i]`, with the leaf hash of its stored bytes at `hashes[32i, 32i + 32)`. */
export interface HashedEvents {
  readonly positions: ArrayLike<number>;
  readonly zones: readonly string[];
  readonly hashes: Uint8Array;
}

/** The log's leaves of a page column by column, each with the hash the log stored for it; `hashed[i]` is 0 where there is none (not a 32-byte blob). */
export interface LoggedLeaves {
  readonly positions: ArrayLike<number>;
  readonly zones: readonly string[];
  readonly indexes: ArrayLike<number>;
  readonly hashes: Uint8Array;
  readonly hashed: ArrayLike<number>;
}

/**
 * A page of the walk: every event at a position in (after, upTo], each with the leaf hash of its
 * stored bytes, and every leaf the log holds for those positions, with the hash it stored, both
 * in position order. Columns rather than an object per event: the hash threads hand them over
 * as they are, and the walk makes nothing per event (columnsOf makes them from objects).
 */
export interface HashedPage {
  readonly events: HashedEvents;
  readonly leaves: LoggedLeaves;
  readonly upTo: number;
}

/** The page of those events and leaves, as columns. */
export function columnsOf(events: readonly HashedEvent[], leaves: readonly LogLeaf[], upTo: number): HashedPage {
  const hashes = Buffer.alloc(events.length * HASH_SIZE);
  events.forEach((e, i) => {
    if (e.hash.length !== HASH_SIZE) throw new RangeError(`a leaf hash has ${HASH_SIZE} bytes, not ${e.hash.length}`);
    hashes.set(e.hash, i * HASH_SIZE);
  });
  const stored = Buffer.alloc(leaves.length * HASH_SIZE);
  const hashed = new Uint8Array(leaves.length);
  leaves.forEach((l, i) => {
    if (l.hash.length !== HASH_SIZE) return;
    stored.set(l.hash, i * HASH_SIZE);
    hashed[i] = 1;
  });
  return {
    events: { positions: events.map((e) => e.position), zones: events.map((e) => e.zone), hashes },
    leaves: { positions: leaves.map((l) => l.position), zones: leaves.map((l) => l.zone), indexes: leaves.map((l) => l.index), hashes: stored, hashed },
    upTo,
  };
}

/** Whether bytes [a, a + 32) of `x` equal bytes [b, b + 32) of `y`. */
function sameHash(x: Uint8Array, a: number, y: Uint8Array, b: number): boolean {
  for (let k = 0; k < HASH_SIZE; k++) if (x[a + k] !== y[b + k]) return false;
  return true;
}

export interface VerifyInput {
  /** The next page after a position (about `limit` positions), never past `head`. */
  readonly events: (after: number, limit: number, head: number) => HashedPage | Promise<HashedPage>;
  readonly logs: ZoneLogs;
  readonly checkpoints: readonly SignedCheckpoint[];
  readonly publicKey: (keyId: string) => KeyObject | undefined;
  /**
   * The last position to verify: the head when verification began, read after the checkpoints.
   * Events and leaves are committed together, so up to it both are whole in every later read,
   * while the service keeps appending beyond it.
   */
  readonly head: number;
  /** One zone (an auditor's, over HTTP), or every zone (the CLI). */
  readonly zone?: string;
  readonly pageSize?: number;
}

interface ZoneWalk {
  readonly tree: MerkleLog;
  readonly nodes: MemoryNodeStore;
  /** The leaf hashes of this page, end to end, appended to the tree together when the page is done (room for every event of the page). */
  page: Buffer;
  pageLeaves: number;
  expected: number;
  problems: number;
  /** The position of the zone's last event found. */
  last: number;
}

/**
 * Recomputes every leaf from the events as stored and every zone's tree from those leaves, and
 * holds them against the log's own records and every signed checkpoint. Events and leaves are
 * walked together in position order, a page at a time (the event loop is let go between pages),
 * so the first problem found on the walk is the earliest one. It reports the first invalid
 * position and why; `ok` only when nothing at all is wrong.
 */
export async function verifyLedger(input: VerifyInput): Promise<VerificationReport> {
  const pageSize = input.pageSize ?? 5_000;
  /** The bytes the page being walked needs in each zone's page buffer at most: all its events in one zone. */
  let pageBytes = 0;
  const inScope = (zone: string) => input.zone === undefined || zone === input.zone;
  const walks = new Map<string, ZoneWalk>();
  const walkOf = (zone: string) => {
    let walk = walks.get(zone);
    if (!walk) {
      // The log's own count of the zone's leaves sizes the tree (a hint only: the walk counts for itself).
      const nodes = new MemoryNodeStore(input.logs.size(zone));
      walk = { tree: new MerkleLog(nodes), nodes, page: Buffer.alloc(pageBytes), pageLeaves: 0, expected: 0, problems: 0, last: 0 };
      walks.set(zone, walk);
    }
    return walk;
  };
  const problems: Problem[] = [];
  const problem = (p: Problem) => {
    problems.push(p);
    walkOf(p.zone).problems += 1;
  };
  let eventsChecked = 0;

  const onLeafOnly = (leaves: LoggedLeaves, j: number) => {
    const zone = leaves.zones[j]!;
    if (inScope(zone)) problem({ zone, reason: 'missing', position: leaves.positions[j]! });
  };
  /** The i-th event of the page, with the log's j-th leaf of the page where it is that event's (else -1). */
  const onEvent = (events: HashedEvents, i: number, leaves: LoggedLeaves, j: number) => {
    const zone = events.zones[i]!;
    const position = events.positions[i]!;
    if (!inScope(zone) && !(j >= 0 && inScope(leaves.zones[j]!))) return;
    eventsChecked += 1;
    const walk = walkOf(zone);
    if (j < 0) problem({ zone, reason: 'not-in-log', position });
    else if (leaves.zones[j] !== zone || leaves.indexes[j] !== walk.expected) problem({ zone, reason: 'log-altered', position });
    else if (!leaves.hashed[j] || !sameHash(events.hashes, i * HASH_SIZE, leaves.hashes, j * HASH_SIZE)) problem({ zone, reason: 'altered', position });
    walk.page.set(events.hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE), walk.pageLeaves * HASH_SIZE);
    walk.pageLeaves += 1;
    walk.expected += 1;
    walk.last = position;
  };

  // Events and leaves of the same positions, a page at a time, merged in position order.
  let after = 0;
  while (after < input.head) {
    const { events, leaves, upTo } = await input.events(after, pageSize, input.head);
    if (!(upTo > after)) throw new Error(`verification's source did not move past position ${after}`);
    if (events.hashes.length !== events.zones.length * HASH_SIZE) throw new RangeError(`a page of ${events.zones.length} events came with ${events.hashes.length} bytes of hashes`);
    const count = events.zones.length;
    const leafCount = leaves.zones.length;
    pageBytes = count * HASH_SIZE;
    for (const walk of walks.values()) if (walk.page.length < pageBytes) walk.page = Buffer.alloc(pageBytes);
    let l = 0;
    for (let i = 0; i < count; i++) {
      const position = events.positions[i]!;
      while (l < leafCount && leaves.positions[l]! < position) onLeafOnly(leaves, l++);
      onEvent(events, i, leaves, l < leafCount && leaves.positions[l] === position ? l++ : -1);
    }
    while (l < leafCount) onLeafOnly(leaves, l++);
    // Each zone's leaves of the page go into its tree at once, in their order (appendLeaves).
    for (const walk of walks.values()) {
      walk.nodes.appendLeaves(walk.page.subarray(0, walk.pageLeaves * HASH_SIZE));
      walk.pageLeaves = 0;
    }
    after = upTo;
    await new Promise((resolve) => setImmediate(resolve));
  }

  // The log's interior nodes serve proofs: each must be the one the events make.
  for (const zone of input.logs.zones()) {
    if (!inScope(zone)) continue;
    const walk = walkOf(zone);
    if (walk.problems > 0) continue;
    for (const node of input.logs.interiorNodes(zone)) {
      // Nodes over leaves past the head were appended since verification began.
      if ((node.index + 1) * 2 ** node.level > walk.tree.size) continue;
      const recomputed = walk.nodes.get(node.level, node.index);
      if (!recomputed || !node.hash.equals(recomputed)) {
        problem({ zone, reason: 'log-altered', position: input.logs.positionAt(zone, node.index * 2 ** node.level) });
        break;
      }
    }
  }

  let checkpointsChecked = 0;
  const goodSize = new Map<string, number>();
  for (const checkpoint of input.checkpoints) {
    if (!inScope(checkpoint.zone)) continue;
    checkpointsChecked += 1;
    const zone = checkpoint.zone;
    const at = { size: checkpoint.size, at: checkpoint.at };
    const key = input.publicKey(checkpoint.keyId);
    if (!key) {
      problems.push({ zone, reason: 'checkpoint-key-unknown', checkpoint: at });
      continue;
    }
    if (!verify(null, checkpointBytes(checkpoint), key, Buffer.from(checkpoint.signature, 'base64'))) {
      problems.push({ zone, reason: 'checkpoint-forged', checkpoint: at });
      continue;
    }
    const walk = walkOf(zone);
    if (checkpoint.size > walk.tree.size) {
      // Where the log still names the first missing event, there; else just after the last one left.
      problems.push({ zone, reason: 'truncated', checkpoint: at, position: input.logs.positionAt(zone, walk.tree.size) ?? walk.last + 1 });
    } else if (walk.tree.root(checkpoint.size).toString('base64') !== checkpoint.root) {
      // The change lies among the events added since the last checkpoint that held.
      problems.push({ zone, reason: 'checkpoint-mismatch', checkpoint: at, position: input.logs.positionAt(zone, goodSize.get(zone) ?? 0) });
    } else {
      goodSize.set(zone, checkpoint.size);
    }
  }

  if (problems.length === 0) return { ok: true, eventsChecked, checkpointsChecked };
  // What the walk found is exact; a checkpoint's finding only bounds where the change is, so it
  // is the answer only when the walk found nothing.
  const exact = problems.filter((p) => p.checkpoint === undefined);
  const first = (exact.length > 0 ? exact : problems).reduce((a, b) => (b.position !== undefined && (a.position === undefined || b.position < a.position) ? b : a));
  return {
    ok: false,
    eventsChecked,
    checkpointsChecked,
    ...(first.position !== undefined ? { firstInvalidPosition: first.position } : {}),
    reason: first.reason,
    detail: VERIFY_REASONS[first.reason],
    zone: first.zone,
    ...(first.checkpoint ? { checkpoint: first.checkpoint } : {}),
  };
}
