import {
  agencyReferenceCategories,
  type Category,
  caseStream,
  type EventStore,
  parseStream,
  type Position,
  protocolStream,
  SYSTEM_AGENCY,
  zoneOfStream,
  zoneStreamPrefixes,
} from '../../events';
import { type AgencyCaseView, agencyCaseView, caseFacts, type Disclosure, ledgerEntryOf, protocolAsOf, protocolEntryOf } from '../../projections/policy';
import { NotFound, ValidationFailed } from '../errors';
import type { Clock } from '../ledger/clock';
import { clearCategories } from '../store/codec';
import type { ConsistencyProof, InclusionProof, SignedCheckpoint } from './auditor';
import type { Checkpoints } from './checkpoints';
import { HASH_SIZE, leafHashOf } from './merkle';
import type { CheckpointKeys, PublicSigningKey } from './signing-keys';
import { verifyLedger, type VerificationReport, type VerifyInput } from './verify-ledger';
import type { ZoneLogs } from './zone-logs';

/** One event of the zone's ledger as auditors read it: no personal data, its leaf hash and the one before it in the zone's log. */
export interface AuditEvent {
  readonly position: number;
  readonly stream: string;
  readonly type: string;
  readonly at: string;
  readonly agency: string;
  readonly operator: string;
  readonly categories: readonly string[];
  readonly leafIdx: number | null;
  readonly hash: string;
  readonly prevHash: string | null;
}

export interface AuditParts {
  readonly store: EventStore;
  readonly logs: ZoneLogs;
  /** A source of the events in position order with the leaf hashes of their stored bytes, for one verification. */
  readonly hashed: () => { readonly events: VerifyInput['events']; close(): Promise<void> };
  readonly checkpoints: Checkpoints;
  readonly keys: CheckpointKeys;
  readonly clock: Clock;
  /** Resolves once the log holds everything appended so far (where a follower feeds it). */
  readonly caughtUp?: () => Promise<void>;
  /**
   * Resolves once everything the log holds now is on disk (the embedded store makes a commit
   * durable after it is visible): nothing is signed that a power cut could take back.
   */
  readonly durable?: () => Promise<void>;
  /**
   * Ledger positions as auditors see them, and the store's: the same number in the embedded
   * store; an ordinal in EventStoreDB mode (src/audit/audit-follower.ts).
   */
  readonly positions: {
    /** The last position of the ledger and its log, read after the checkpoints. */
    head(): Promise<number>;
    /** The store position to read after, for a ledger position (undefined: from the start). */
    storeAfter(position: number): Position | undefined;
    of(stored: Position): number | undefined;
  };
}

/** Positions of the embedded store: its row ids, the same numbers for auditors. */
export function embeddedPositions(store: EventStore, logs: ZoneLogs): AuditParts['positions'] {
  return {
    head: async () => Math.max(Number((await store.headPosition())?.commit ?? 0n), logs.lastPosition()),
    storeAfter: (position) => (position > 0 ? { commit: BigInt(position), prepare: BigInt(position) } : undefined),
    of: (stored) => Number(stored.commit),
  };
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/**
 * What auditors ask of the ledger (API.md "Auditor"), one zone at a time: the zone comes from
 * the caller's token, and nothing here reads another zone's events, leaves or checkpoints.
 */
export class Audit {
  constructor(private readonly parts: AuditParts) {}

  keys(): PublicSigningKey[] {
    return this.parts.keys.list();
  }

  /** A new checkpoint-signing key; the old ones stay, to verify what they signed. */
  rotateKey(): PublicSigningKey {
    return this.parts.keys.rotate();
  }

  /** The zones that have a log. */
  async zones(): Promise<string[]> {
    await this.parts.caughtUp?.();
    return this.parts.logs.zones();
  }

  /**
   * Signs the zone's log as it is now. For a command (an Idempotency-Key's), the checkpoint it
   * signed before, if it did: a repeat after a crash that lost the answer signs nothing new.
   */
  async checkpoint(zone: string, commandId?: string): Promise<SignedCheckpoint> {
    const signed = commandId === undefined ? undefined : this.parts.checkpoints.ofCommand(commandId);
    if (signed?.zone === zone) return signed;
    const [now] = await this.durableSizes([zone]);
    return this.signAt(zone, now!.size, commandId);
  }

  /** The periodic checkpoint: every zone whose log grew since its last one. Returns how many were signed. */
  async checkpointGrown(): Promise<number> {
    let signed = 0;
    for (const { zone, size } of await this.durableSizes()) {
      if (size > (this.parts.checkpoints.latest(zone)?.size ?? 0)) {
        this.signAt(zone, size);
        signed += 1;
      }
    }
    return signed;
  }

  /** The sizes of these zones' logs (every zone's by default) as they are now, once all they hold is on disk: nothing is signed that a power cut could take back. */
  private async durableSizes(zones?: readonly string[]): Promise<Array<{ zone: string; size: number }>> {
    await this.caughtUp();
    const sizes = (zones ?? this.parts.logs.zones()).map((zone) => ({ zone, size: this.parts.logs.size(zone) }));
    await this.parts.durable?.();
    return sizes;
  }

  /**
   * The log holds everything appended so far, and its sizes are read again: the sizes the logs
   * remember are this process's, and another (`ledger export` or `ledger audit checkpoint`
   * beside the service, in embedded mode) may have appended since.
   */
  private async caughtUp(): Promise<void> {
    await this.parts.caughtUp?.();
    this.parts.logs.forget();
  }

  private signAt(zone: string, size: number, commandId?: string): SignedCheckpoint {
    return this.parts.checkpoints.sign(zone, size, this.parts.logs.log(zone).root(size), this.parts.clock.now(), commandId);
  }

  checkpointsAfter(zone: string, afterSize: number, limit: number): SignedCheckpoint[] {
    return this.parts.checkpoints.after(zone, afterSize, limit);
  }

  /** Verification of one zone (an auditor's), or of every zone (the CLI). */
  async verify(zone?: string): Promise<VerificationReport> {
    await this.parts.caughtUp?.();
    // Checkpoints first, then the head: every checkpoint read covers events up to the head. The
    // head is the later of the ledger's and the log's (events cut from the end leave leaves).
    const checkpoints = this.parts.checkpoints.all();
    const head = await this.parts.positions.head();
    const source = this.parts.hashed();
    try {
      return await verifyLedger({
        events: source.events,
        logs: this.parts.logs,
        checkpoints,
        head,
        publicKey: (keyId) => this.parts.keys.publicKey(keyId),
        ...(zone === undefined ? {} : { zone }),
      });
    } finally {
      await source.close();
    }
  }

  async inclusion(zone: string, position: number, treeSize?: number): Promise<InclusionProof> {
    await this.caughtUp();
    const leaf = this.parts.logs.leafAt(position);
    if (!leaf || leaf.zone !== zone) throw new NotFound('no event of the zone at that position');
    // No proof from a log whose record of this leaf is altered (a 500): verification says where and why.
    if (leaf.hash.length !== HASH_SIZE) throw new Error(`the log holds no hash for the leaf at position ${position}: the log was altered; run verification`);
    const log = this.parts.logs.log(zone);
    const size = treeSize ?? log.size;
    if (size <= leaf.index || size > log.size) {
      throw new ValidationFailed([{ path: 'query.treeSize', message: `must be from ${leaf.index + 1} (the leaf's index + 1) to ${log.size} (the log's size)` }]);
    }
    return { leafIdx: leaf.index, treeSize: size, leafHash: b64(leaf.hash), proof: log.inclusionProof(leaf.index, size).map(b64), root: b64(log.root(size)) };
  }

  async consistency(zone: string, from: number, to?: number): Promise<ConsistencyProof> {
    await this.caughtUp();
    const log = this.parts.logs.log(zone);
    const size2 = to ?? log.size;
    if (size2 > log.size) throw new ValidationFailed([{ path: 'query.to', message: `must be at most ${log.size} (the log's size)` }]);
    if (from < 1 || from > size2) throw new ValidationFailed([{ path: 'query.from', message: `must be from 1 to ${size2}` }]);
    return { size1: from, size2, root1: b64(log.root(from)), root2: b64(log.root(size2)), proof: log.consistencyProof(from, size2).map(b64) };
  }

  /** The zone's events after a position, without personal data; `next` is the position to continue after, when there may be more. */
  async events(zone: string, after: number, limit: number): Promise<{ items: AuditEvent[]; next?: number }> {
    await this.parts.caughtUp?.();
    const items: AuditEvent[] = [];
    let from = after;
    // The prefixes select a superset (zone "a" and zone "a-b" share "protocol-a"): keep the zone's own.
    while (items.length < limit) {
      const after = this.parts.positions.storeAfter(from);
      if (from > 0 && !after) return { items };
      const page = await this.parts.store.readAll({ ...(after ? { after } : {}), maxCount: limit, streamPrefixes: zoneStreamPrefixes(zone) });
      for (const event of page) {
        const position = this.parts.positions.of(event.position);
        // An event the log has not reached yet (a follower's log) waits for the next page.
        if (position === undefined) return { items };
        from = position;
        if (zoneOfStream(event.stream) !== zone) continue;
        const leaf = this.parts.logs.leafAt(from);
        const previous = leaf && leaf.index > 0 ? this.parts.logs.hashAt(zone, leaf.index - 1) : undefined;
        items.push({
          position: from,
          stream: event.stream,
          type: event.type,
          at: event.metadata.occurredAt,
          agency: event.metadata.agency,
          operator: event.metadata.operator,
          categories: clearCategories(event.raw.data) ?? [],
          leafIdx: leaf?.index ?? null,
          hash: b64(leafHashOf({ ...event, data: event.raw.data, metadata: event.raw.metadata })),
          prevHash: previous ? b64(previous) : null,
        });
        if (items.length === limit) break;
      }
      if (page.length < limit) return { items };
    }
    return { items, next: from };
  }

  /**
   * What a page of events discloses of each case in it (ENTITLEMENTS.md "The access trail": one
   * record per disclosed case): which agency wrote an entry of which type on it, with data of
   * which categories. A reference to an agency carries its membership's category (knowing that
   * SerD is on the team is health data); each agency that wrote is an owner, with its own
   * entries' categories, so its DPO reads the disclosure in `of-our-data`. Events of no case
   * (the protocol, trail records) disclose no case.
   */
  async eventDisclosures(zone: string, items: readonly AuditEvent[]): Promise<Array<{ caseId: string; disclosure: Disclosure }>> {
    const cases = new Map<string, Map<string, Set<Category>>>();
    for (const item of items) {
      const stream = parseStream(item.stream);
      if (stream.kind !== 'case') continue;
      let owners = cases.get(stream.caseId);
      if (!owners) cases.set(stream.caseId, (owners = new Map()));
      let categories = owners.get(item.agency);
      if (!categories) owners.set(item.agency, (categories = new Set()));
      for (const category of item.categories) categories.add(category as Category);
    }
    if (cases.size === 0) return [];
    const protocol = protocolAsOf((await this.parts.store.readStream(protocolStream(zone))).map(protocolEntryOf));
    const kindOf = (agency: string) => protocol?.kinds.get(agency);
    const basis = ['auditor'];
    return [...cases].map(([caseId, byAgency]) => {
      const categories = new Set<Category>();
      const owners = [];
      for (const [agency, own] of byAgency) {
        // The service's own entries (an authorisation's expiry) are of no agency: their categories count, no membership, no owner.
        if (agency !== SYSTEM_AGENCY) for (const category of agencyReferenceCategories(agency, { kindOf })) own.add(category);
        for (const category of own) categories.add(category);
        if (agency !== SYSTEM_AGENCY) owners.push({ agency, categories: [...own].sort(), basis });
      }
      return { caseId, disclosure: { categories: [...categories].sort(), basis, owners } };
    });
  }

  /**
   * The view agency `agency` had of a case as of an instant (ENTITLEMENTS.md: the state at T
   * applied to the data up to T), computed by the policy of the live views from the case's
   * events and the zone protocol as they stood at that instant. Undefined where the case did
   * not exist for that agency then. An erased person's data stays erased: the keys are gone.
   * Its disclosure, for the trail, says whose view it was and as of when (`view-of:`, `as-of:`
   * in the auditor's record, which the auditor's own DPO reads); each owner keeps the basis of
   * its own data in that view.
   */
  async caseAsOf(zone: string, caseId: string, agency: string, instant: string): Promise<AgencyCaseView | undefined> {
    // The ledger's times are compared as text in its own form (milliseconds, Z): an instant given
    // as 09:00:00Z would otherwise sort after an event at 09:00:00.500Z.
    const asOf = new Date(instant).toISOString();
    const events = await this.parts.store.readStream(caseStream(zone, caseId));
    if (events.length === 0) return undefined;
    const protocol = protocolAsOf((await this.parts.store.readStream(protocolStream(zone))).map(protocolEntryOf), asOf);
    const shown = agencyCaseView(caseFacts(caseId, events.map(ledgerEntryOf), protocol, asOf), agency);
    return shown && { ...shown, disclosure: { ...shown.disclosure, basis: ['auditor', `view-of:${agency}`, `as-of:${asOf}`] } };
  }
}
