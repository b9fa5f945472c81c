import { type DomainEvent, type EventMetadata, isEventType, parseStream, STREAM_PREFIXES, SYSTEM_AGENCY, type ZoneProtocol } from '../events';
import {
  comparePositions,
  type EventStore,
  FatalStoreError,
  formatPosition,
  parsePosition,
  type Position,
  type StoredEvent,
  type Subscription,
  type SubscriptionMessage,
} from '../events/event-store';
import { agencyCaseView, caseFacts, ledgerEntryOf, protocolAsOf, protocolEntryOf } from './policy';
import { Progress } from './progress';
import type { ReadModels } from './read-models';

export interface RunnerOptions {
  /** Events applied per transaction. */
  readonly batchSize?: number;
  /** Cases whose views are computed per transaction. */
  readonly casesPerTransaction?: number;
  /** The first wait before resubscribing after an error (ms, doubling to 5 s; 100 by default). */
  readonly retryAfterMs?: number;
  readonly onError?: (error: unknown) => void;
  /** Told every time the views move forward (the worker thread reports it to the main thread). */
  readonly onProgress?: (projected: Position | undefined) => void;
  /** Told after every batch copied, caught up or not: how many events and how far (`ledger rebuild` shows it). */
  readonly onBatch?: (events: number, position: Position | undefined) => void;
  /**
   * Once caught up, a batch of access-trail records alone waits this long (ms; 0 by default) for
   * more to join it. No read waits on a trail record (ReadBarrier waits for commands; the DPO's
   * reads of the trail wait for the ledger's head), and each commit of the views file makes every
   * other connection to it read its pages again: under many reads, one commit per read costs the
   * readers more than the records' being a few ms later. Anything else is applied at once.
   */
  readonly trailDelayMs?: number;
}

/**
 * Feeds the read models from the store's catch-up subscription, from the durable checkpoint
 * (never from the in-process bus). Each transaction applies a batch of events to the ledger
 * copy, computes the views of the cases they touched for every agency of the zone, and moves
 * the checkpoint: stopped anywhere, it resumes without losing or repeating anything.
 *
 * While catching up (at start, or in `ledger rebuild`) it only copies events and marks cases,
 * and computes each case's views once when it has caught up: a case's view depends on its
 * whole history, so computing it at every event of a replay would be wasted work.
 */
/** Cases computed in one transaction from which their rows are sealed in another thread. */
const SEAL_ASIDE_FROM = 8;

/** Subscription failures in a row after which the runner gives up (readiness says so). */
const MAX_CONSECUTIVE_FAILURES = 10;

export class ProjectionRunner {
  private subscription: Subscription | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private pending: StoredEvent[] = [];
  private scannedTo: Position | undefined;
  private applied: Position | undefined;
  /** How far every view reflects the ledger, once caught up: reads may be served. */
  private readonly progress = new Progress();
  private caughtUp = false;
  private failed: unknown;
  private flushScheduled = false;
  private delayedFlush: NodeJS.Timeout | undefined;
  private readonly protocols = new Map<string, ZoneProtocol | undefined>();
  private readonly batchSize: number;
  private readonly casesPerTransaction: number;
  private readonly trailDelayMs: number;

  constructor(
    private readonly store: EventStore,
    private readonly models: ReadModels,
    private readonly options: RunnerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 5_000;
    this.casesPerTransaction = options.casesPerTransaction ?? 500;
    this.trailDelayMs = options.trailDelayMs ?? 0;
    const saved = models.checkpoint();
    this.applied = saved === undefined ? undefined : parsePosition(saved);
  }

  /** Starts following the store; resolves at once. */
  start(): void {
    if (this.running) return;
    this.stopped = false;
    this.running = this.follow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.delayedFlush);
    this.delayedFlush = undefined;
    await this.subscription?.close();
    await this.running;
    this.running = undefined;
    this.progress.cancelWaiters();
  }

  /** Caught up with the store at least once since start, and every view computed. */
  isReady(): boolean {
    return this.progress.isReady();
  }

  get error(): unknown {
    return this.failed;
  }

  /** Why not ready, for /health/ready. */
  reason(): string | undefined {
    // Read by /health/ready, which answers anyone: the error itself goes to the log, not here.
    if (this.failed) return 'projections stopped (the log says why)';
    return this.isReady() ? undefined : 'catching up with the ledger';
  }

  position(): Position | undefined {
    return this.progress.position;
  }

  /** Resolves true once ready and every view reflects the ledger up to `target`; false after the timeout. */
  waitFor(target: Position | undefined, timeoutMs: number): Promise<boolean> {
    return this.progress.waitFor(target, timeoutMs);
  }

  /** Runs until caught up with everything in the store now, then stops (rebuild, tests). */
  async runUntilCaughtUp(): Promise<void> {
    const head = await this.store.headPosition();
    this.start();
    while (!this.failed && !(this.progress.reached(head) && this.models.ledger.dirtyCount() === 0)) await new Promise((r) => setTimeout(r, 5));
    await this.stop();
    if (this.failed) throw this.failed instanceof Error ? this.failed : new Error('the projections failed', { cause: this.failed });
  }

  /**
   * Follows the store, resubscribing with a backoff after an error. An error no retry can fix
   * (FatalStoreError), or the same failure ten times in a row, stops the runner: it fails, says
   * so through readiness, and is not retried here (the projection thread starts a new worker).
   */
  private async follow(): Promise<void> {
    const first = this.options.retryAfterMs ?? 100;
    let backoff = first;
    let failures = 0;
    while (!this.stopped) {
      this.subscription = this.store.subscribe({ after: this.applied, streamPrefixes: Object.values(STREAM_PREFIXES) });
      try {
        let received = false;
        for await (const message of this.subscription) {
          received = true;
          this.receive(message);
          failures = 0;
          if (this.failed) return;
        }
        backoff = first;
        // A subscription that ended at once (the store closed under the runner) is not asked again
        // in a tight loop.
        if (!received && !this.stopped) await new Promise((r) => setTimeout(r, first));
      } catch (error) {
        if (this.stopped) return;
        failures += 1;
        if (error instanceof FatalStoreError || failures >= MAX_CONSECUTIVE_FAILURES) {
          this.failed = error;
          this.progress.fail();
          this.options.onError?.(error);
          return;
        }
        this.options.onError?.(error);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  private receive(message: SubscriptionMessage): void {
    if (message.type === 'event') {
      this.pending.push(message.event);
      this.scannedTo = message.event.position;
      if (this.pending.length >= this.batchSize) this.flush();
      else if (this.delaysTrail() && message.event.stream.startsWith(STREAM_PREFIXES.trail)) this.flushLater();
      else this.scheduleFlush();
      return;
    }
    // The first time it catches up, what is pending is applied at once: readiness waits for it.
    const delays = this.delaysTrail() && this.pending.length > 0 && this.pending.every((event) => event.stream.startsWith(STREAM_PREFIXES.trail));
    if (message.type === 'checkpoint') this.scannedTo = message.position;
    if (message.type === 'caught-up') this.caughtUp = true;
    if (delays) this.flushLater();
    else this.flush();
  }

  private delaysTrail(): boolean {
    return this.caughtUp && this.trailDelayMs > 0;
  }

  /** Applies what is pending in trailDelayMs, unless something else applies it first. */
  private flushLater(): void {
    if (this.stopped) return;
    this.delayedFlush ??= setTimeout(() => {
      // Stopped meanwhile: the models may be closed; the records come again after the checkpoint.
      if (!this.stopped) this.flush();
    }, this.trailDelayMs).unref();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    clearTimeout(this.delayedFlush);
    this.delayedFlush = undefined;
    if (this.failed) return;
    const batch = this.pending;
    this.pending = [];
    const target = this.scannedTo;
    try {
      let remaining = 0;
      this.models.transaction(() => {
        const touched = new Map<string, { zone: string; caseId: string }>();
        for (const event of batch) this.apply(event, touched);
        for (const { zone, caseId } of touched.values()) this.models.ledger.markDirty(zone, caseId);
        if (this.caughtUp) remaining = this.computeViews(target ?? this.applied);
        if (target && (!this.applied || comparePositions(target, this.applied) > 0)) {
          this.applied = target;
          this.models.saveCheckpoint(formatPosition(target));
        }
      });
      // The views of cases still to be computed again (a renewal marks a whole zone) are computed
      // on demand by reads meanwhile (AgencyPartition.get): reads need not wait for them.
      this.options.onBatch?.(batch.length, this.applied);
      if (this.caughtUp) {
        this.projectedTo(this.applied);
        if (remaining > 0) this.scheduleFlush();
      }
    } catch (error) {
      // A view that cannot be computed from the ledger is a bug: stop, and let readiness say so.
      this.failed = error;
      this.progress.fail();
      this.options.onError?.(error);
      void this.subscription?.close();
    }
  }

  private projectedTo(position: Position | undefined): void {
    this.progress.advance(position);
    this.options.onProgress?.(this.progress.position);
  }

  private apply(event: StoredEvent, touched: Map<string, { zone: string; caseId: string }>): void {
    const stream = parseStream(event.stream);
    const meta: EventMetadata = event.metadata;
    // A type this version does not know (written by a newer instance) is passed over: the
    // views are those of this version's policy, which cannot classify it.
    if (!isEventType(event.type)) return;
    if (stream.kind === 'case') {
      touched.set(event.stream, { zone: stream.zone, caseId: stream.caseId });
      this.models.ledger.addCaseEntry(stream.zone, stream.caseId, ledgerEntryOf(event), event);
    } else if (stream.kind === 'protocol') {
      this.models.ledger.addProtocolEntry(stream.zone, protocolEntryOf(event));
      this.protocols.delete(stream.zone);
    } else if (stream.kind === 'trail' && event.type === 'AccessRecorded') {
      const data = event.data as DomainEvent<'AccessRecorded'>['data'];
      this.models.trail.add(stream.zone, { id: event.id, at: meta.occurredAt, agency: meta.agency, operator: meta.operator, ...data });
    } else if (stream.kind === 'erasure' && event.type === 'PersonErased') {
      this.erased(event, stream.zone, touched);
    }
  }

  /**
   * A person erased: this process forgets their keys and what it remembers of their cases, every
   * case of theirs, in every zone, is computed again (an erased stub, for the agencies it exists
   * for) and leaves the index of the person's cases (the DPO's per-person report no longer ties
   * the fiscal code to them; an erased referral is never indexed again), and the erasure goes on
   * the access trail of the erasing agency and of every agency that had recorded data in those
   * cases (ENTITLEMENTS.md "The access trail").
   */
  private erased(event: StoredEvent, zone: string, touched: Map<string, { zone: string; caseId: string }>): void {
    const data = event.data as DomainEvent<'PersonErased'>['data'];
    this.models.crypto.sealer.forget(data.subject);
    this.models.ledger.forgetCases(data.cases);
    for (const caseId of data.cases) {
      for (const caseZone of this.models.ledger.zonesOfCase(caseId)) {
        touched.set(`${caseZone}/${caseId}`, { zone: caseZone, caseId });
        this.models.index.forgetPerson(caseZone, data.subject);
        const authors = [...new Set(this.models.ledger.caseEntries(caseZone, caseId, event.position).map((e) => e.agency))].filter((a) => a !== SYSTEM_AGENCY);
        this.models.trail.add(caseZone === zone ? zone : caseZone, {
          id: `${event.id}/${caseId}`,
          at: event.metadata.occurredAt,
          agency: event.metadata.agency,
          operator: event.metadata.operator,
          roles: [],
          action: 'subject.erasure',
          caseId,
          categories: [],
          purpose: data.reason,
          basis: [data.legalBasis],
          outcome: 'erased',
          owners: authors.map((agency) => ({ agency, categories: [], basis: [data.legalBasis] })),
        });
      }
    }
  }

  /** Computes the views of dirty cases from the ledger up to `upTo`, a bounded number per transaction; returns how many remain. */
  private computeViews(upTo: Position | undefined): number {
    const dirty = this.models.ledger.dirtyCases(this.casesPerTransaction);
    const computeAll = () => {
      for (const { zone, caseId } of dirty) {
        this.computeCase(zone, caseId, upTo);
        this.models.ledger.markClean(zone, caseId);
      }
    };
    // Many cases (a catch-up, a renewal): their rows are sealed in another thread while the next
    // cases are computed, and written before the transaction ends. A few (live): sealed here.
    if (dirty.length >= SEAL_ASIDE_FROM) this.models.writes.hold(computeAll);
    else computeAll();
    return dirty.length < this.casesPerTransaction ? 0 : this.models.ledger.dirtyCount();
  }

  private protocolOf(zone: string): ZoneProtocol | undefined {
    if (!this.protocols.has(zone)) this.protocols.set(zone, protocolAsOf(this.models.ledger.protocolEntries(zone)));
    return this.protocols.get(zone);
  }

  private computeCase(zone: string, caseId: string, upTo: Position | undefined): void {
    const entries = this.models.ledger.caseEntries(zone, caseId, upTo);
    const protocol = this.protocolOf(zone);
    const facts = caseFacts(caseId, entries, protocol);
    const agencies = new Set<string>([
      ...(protocol?.current.parties.map((p) => p.agency) ?? []),
      ...facts.state.authors,
      ...facts.state.team.keys(),
      ...this.models.cases.agenciesWithView(zone, caseId),
    ]);
    // The service's own author id is no agency: it has no views (ENTITLEMENTS.md "Parties only").
    agencies.delete(SYSTEM_AGENCY);
    for (const agency of agencies) this.models.cases.write({ zone, agency }, caseId, agencyCaseView(facts, agency));
    const referral = entries.find((e) => e.type === 'ReferralSubmitted');
    if (!referral) return;
    const codes = referral.data as { programmes?: string[]; needs?: string[] };
    const closure = facts.state.status === 'closed' ? entries.findLast((e) => e.type === 'CaseClosed') : undefined;
    this.models.index.write(zone, facts, {
      status: facts.state.status,
      openedAt: entries[0]!.at,
      closedAt: closure?.at,
      programmes: codes.programmes ?? [],
      needs: codes.needs ?? [],
      outcomes: entries.flatMap((e) => (e.type === 'OutcomeRecorded' && !e.erased ? (e.data as { outcomes: string[] }).outcomes : [])),
    });
  }
}
