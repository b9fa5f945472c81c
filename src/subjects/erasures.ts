import {
  caseStream,
  comparePositions,
  erasureStream,
  type EventStore,
  formatPosition,
  parsePosition,
  type Position,
  STREAM_PREFIXES,
  WrongExpectedRevisionError,
} from '../../events';
import type { Actor } from '../access/actor';
import type { ErasureRecord, KeyStore } from '../keys/key-store';
import type { Clock } from '../ledger/clock';
import { uuidV5 } from '../ledger/command-ids';

export type ErasureBasis = 'gdpr-17-1-a' | 'gdpr-17-1-b' | 'gdpr-17-1-c' | 'gdpr-17-1-d' | 'gdpr-17-1-e' | 'gdpr-17-1-f' | 'retention-period';
export type ErasureReason = 'request-of-the-person' | 'no-longer-necessary' | 'consent-withdrawn' | 'objection' | 'unlawful-processing' | 'legal-obligation' | 'retention-expired';

/** The key store's mark of how far into the ledger (which log, which position) its erasures are applied. */
const APPLIED_MARK = 'ledger-erasures-applied';
const PAGE = 500;

/** A zone's recorded erasures of a person: the time its admin is answered, the last event's time, every case named, the stream's revision. */
interface Recorded {
  readonly erasedAt: string;
  readonly lastAt: string;
  readonly cases: Set<string>;
  readonly revision: bigint;
}

export interface ErasureRequest {
  readonly actor: Pick<Actor, 'zone' | 'agency' | 'operator'>;
  readonly legalBasis: ErasureBasis;
  readonly reason: ErasureReason;
  readonly correlationId: string;
}

/**
 * Erasure by destroying keys (API.md "Erasure"; DOMAIN.md: "erasure or the end of retention can
 * be carried out by destroying that person's key without rewriting history").
 *
 * The keys go first, durably, with the erasure written in the key store (subject, time, zone);
 * then the PersonErased event is appended to the zone's ledger, naming the person by pseudonym
 * and listing the cases the keys sealed, in every zone: the projections show those cases as
 * erased and put the erasure on the access trail. A crash between the two leaves an erasure in
 * the key store without its event: `reconcile()` at start appends it. The other way round, a key
 * store restored from a backup older than an erasure holds the keys it destroyed: `reconcile()`
 * destroys them again, first (applyLedgerErasures()). A repeat with nothing new
 * since (no key left, every case of the person in this zone's record) answers what the last one
 * did and writes nothing; a person referred again after an erasure has a new key, and a later
 * erasure destroys it and is recorded by an event of its own.
 */
export class Erasures {
  constructor(
    private readonly store: EventStore,
    private readonly keys: KeyStore,
    private readonly clock: Clock,
    private readonly onCommitted: (position: Position) => void = () => undefined,
    /** Told the cases of a person whose keys are gone (CaseLedger drops what it remembers of them). */
    private readonly onErased: (cases: readonly string[]) => void = () => undefined,
  ) {}

  /** Erases the person with this fiscal code; idempotent. */
  async erase(fiscalCode: string, request: ErasureRequest): Promise<{ erasedAt: string }> {
    return this.eraseSubject(this.keys.subjectOf(fiscalCode), request);
  }

  /**
   * A repeat answers this zone's own erasure, never another zone's: an admin must not learn that
   * a person was known and erased elsewhere, nor when (ENTITLEMENTS.md "Nothing leaks through
   * the side"). A person erased in another zone first is erased in this one now, as a person
   * the ledger never knew would be.
   */
  async eraseSubject(subject: string, request: ErasureRequest): Promise<{ erasedAt: string }> {
    return (await this.eraseSubjectIf(subject, request, () => true))!;
  }

  /**
   * As eraseSubject(), if `still()` holds when nothing awaited stands any more between it and the
   * keys' destruction; undefined, having done nothing, if it does not (retention: the person is
   * still due, not referred again since the job looked).
   */
  async eraseSubjectIf(subject: string, request: ErasureRequest, still: () => boolean): Promise<{ erasedAt: string } | undefined> {
    const zone = request.actor.zone;
    const recorded = await this.erasedIn(zone, subject);
    // Nothing new since this zone's last erasure: the same answer, nothing written.
    if (recorded && !this.keys.hasKey(subject) && this.covers(recorded, subject)) return { erasedAt: recorded.erasedAt };
    const unnamed = recorded ? this.keys.casesOfSubject(subject).filter((caseId) => !recorded.cases.has(caseId)) : [];
    const elsewhereOnly = recorded !== undefined && !(await this.anyInZone(zone, unnamed));
    // No await from here until the key store's work is done: a referral that came meanwhile has its key seen (and destroyed).
    const live = this.keys.hasKey(subject);
    if (!still()) return undefined;
    const done = this.keys.erasure(subject);
    // This zone's erasure whose keys went but whose event did not (a crash, or a 503 on a log it could not truncate).
    const unrecorded = !live && done?.zone === zone && (!recorded || done.erasedAt > recorded.lastAt) ? done : undefined;
    if (elsewhereOnly && !live && !unrecorded) {
      // What is new was erased by the other zone itself: nothing for this one to do or write.
      return { erasedAt: recorded.erasedAt };
    }
    const erasedAt = unrecorded?.erasedAt ?? this.clock.now().toISOString();
    // The remembered folds go first: even if truncating the key store's log fails below (503),
    // the keys are gone and no command may be decided on what they sealed.
    this.onErased(this.keys.casesOfSubject(subject));
    // Any key there is goes, a person's referred again after an earlier erasure included.
    // Without one, an earlier attempt destroyed them and may have failed to truncate the key
    // store's log (KeyLogBusyError): it must be truncated before the erasure is answered.
    if (!live) this.keys.purgeLog('an erasure');
    else
      this.keys.destroy(subject, {
        erasedAt,
        zone,
        agency: request.actor.agency,
        operator: request.actor.operator,
        legalBasis: request.legalBasis,
        reason: request.reason,
      });
    const answered = await this.record(subject, request, erasedAt, recorded);
    this.keys.markRecorded(subject, erasedAt);
    // What was new was in other zones only (the person referred again there): erased too, since
    // an erasure is of the person everywhere, but this zone's admin is answered this zone's own
    // erasure, as before, or the answer would tell them of a referral in a zone they cannot see.
    return { erasedAt: elsewhereOnly ? recorded.erasedAt : answered };
  }

  /**
   * This zone's recorded erasure of the person, if any: its time as this zone's admin is
   * answered (the first erasure's, or a later one's that erased a case of this zone: a later one
   * that erased only other zones' cases does not change it), the cases of every one, and the
   * stream's revision.
   */
  private async erasedIn(zone: string, subject: string): Promise<Recorded | undefined> {
    const events = await this.store.readStream(erasureStream(zone, subject));
    const last = events[events.length - 1];
    if (!last) return undefined;
    const cases = new Set<string>();
    let erasedAt = events[0]!.metadata.occurredAt;
    for (const [i, event] of events.entries()) {
      if (event.type !== 'PersonErased') continue;
      const named = (event.data as { cases: string[] }).cases.filter((caseId) => !cases.has(caseId));
      if (i > 0 && (await this.anyInZone(zone, named))) erasedAt = event.metadata.occurredAt;
      for (const caseId of named) cases.add(caseId);
    }
    return { erasedAt, lastAt: last.metadata.occurredAt, cases, revision: last.revision };
  }

  /** Whether any of these cases is of this zone (its stream there has events). */
  private async anyInZone(zone: string, caseIds: readonly string[]): Promise<boolean> {
    for (const caseId of caseIds) if ((await this.store.readStream(caseStream(zone, caseId))).length > 0) return true;
    return false;
  }

  /** Whether the recorded erasures name every case of the person: a case not named is newer (or its erasure's event was lost). */
  private covers(recorded: { cases: Set<string> }, subject: string): boolean {
    return this.keys.casesOfSubject(subject).every((caseId) => recorded.cases.has(caseId));
  }

  /**
   * At start, both ways: destroys the keys a restored key store brought back that the ledger
   * records as erased (applyLedgerErasures()); then appends the erasure's event where the key
   * store has an erasure the ledger does not (a crash between the two, or a log that could not be
   * truncated). Answers how many events it appended.
   */
  async reconcile(): Promise<number> {
    await this.applyLedgerErasures();
    let appended = 0;
    for (const erasure of this.keys.erasures()) {
      const recorded = await this.erasedIn(erasure.zone, erasure.subject);
      if (recorded && this.covers(recorded, erasure.subject)) {
        this.keys.markRecorded(erasure.subject, erasure.erasedAt);
        continue;
      }
      // A person referred again since has a key: their erasure is still to come, not to record.
      if (this.keys.hasKey(erasure.subject)) continue;
      const actor = { zone: erasure.zone, agency: erasure.agency, operator: erasure.operator };
      // The erasure may have failed on a log it could not truncate: no copy of the keys stays before it is recorded.
      this.keys.purgeLog('an erasure');
      await this.record(
        erasure.subject,
        { actor, legalBasis: erasure.legalBasis as ErasureBasis, reason: erasure.reason as ErasureReason, correlationId: 'reconcile' },
        erasure.erasedAt,
        recorded,
      );
      this.keys.markRecorded(erasure.subject, erasure.erasedAt);
      appended++;
    }
    return appended;
  }

  /**
   * Applies to the key store the erasures the ledger records (PersonErased events), so that a key
   * store restored from a backup older than an erasure does not bring the erased keys back
   * (docs/OPERATIONS.md "Backup and restore"). A key goes when it sealed a case an erasure of its
   * person names (the event lists every case of the person's keys then): exact whatever the
   * clocks said, and a key made for a referral after the erasure seals only newer cases, so it
   * stays. A key that seals no case (a crash between making it and linking it) goes when it was
   * made no later than the person's last erasure. Reads the erasures appended since the mark the
   * key store keeps (all of them when the mark is of another log or ahead of this one: a restored
   * or replaced ledger), then moves the mark to the head read before. Answers how many persons
   * had keys destroyed. Throws KeyLogBusyError as destroy() does: the service does not start with
   * an erased key back.
   */
  async applyLedgerErasures(): Promise<number> {
    const identity = await this.store.identity();
    const head = await this.store.headPosition();
    let after = this.appliedUpTo(identity, head);
    const erased = new Map<string, { cases: Set<string>; last: ErasureRecord }>();
    for (;;) {
      const page = await this.store.readAll({ after, maxCount: PAGE, streamPrefixes: [STREAM_PREFIXES.erasure] });
      for (const event of page) {
        if (event.type !== 'PersonErased') continue;
        const data = event.data as { subject: string; cases?: string[]; legalBasis: string; reason: string };
        const meta = event.metadata as { zone: string; agency: string; operator: string; occurredAt: string };
        const record: ErasureRecord = {
          erasedAt: meta.occurredAt,
          zone: meta.zone,
          agency: meta.agency,
          operator: meta.operator,
          legalBasis: data.legalBasis,
          reason: data.reason,
        };
        const seen = erased.get(data.subject);
        if (!seen) erased.set(data.subject, { cases: new Set(data.cases ?? []), last: record });
        else {
          for (const caseId of data.cases ?? []) seen.cases.add(caseId);
          if (record.erasedAt > seen.last.erasedAt) seen.last = record;
        }
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.position;
    }
    let destroyed = 0;
    if (erased.size > 0) {
      const keysOf = this.keys.keysOfSubjects();
      for (const [subject, { cases, last }] of erased) {
        const gone = (keysOf.get(subject) ?? []).filter((k) => (k.cases.length > 0 ? k.cases.some((c) => cases.has(c)) : k.createdAt <= last.erasedAt));
        if (gone.length === 0) continue;
        this.keys.destroyKeys(
          subject,
          gone.map((k) => k.keyId),
          last,
        );
        this.onErased(this.keys.casesOfSubject(subject));
        destroyed++;
      }
      // Keys destroyed by an earlier start that then failed to truncate the log are gone already
      // (nothing matched above): the log is truncated before the mark moves past their erasures.
      this.keys.purgeLog('erasures applied at start');
    }
    if (head) this.keys.setMeta(APPLIED_MARK, JSON.stringify({ identity, position: formatPosition(head) }));
    return destroyed;
  }

  /** Where the key store's erasures stand in this ledger; undefined (from the start) for another log, or one behind the mark. */
  private appliedUpTo(identity: string, head: Position | undefined): Position | undefined {
    const text = this.keys.meta(APPLIED_MARK);
    if (!text || !head) return undefined;
    try {
      const mark = JSON.parse(text) as { identity?: string; position?: string };
      if (mark.identity !== identity || typeof mark.position !== 'string') return undefined;
      const position = parsePosition(mark.position);
      return comparePositions(position, head) <= 0 ? position : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Appends the erasure's event to the zone's ledger after the last one read (`recorded`); answers
   * when the ledger has it (another request's time, where that one came first).
   */
  private async record(subject: string, request: ErasureRequest, erasedAt: string, recorded?: Recorded): Promise<string> {
    const stream = erasureStream(request.actor.zone, subject);
    const after = recorded?.revision;
    // A later erasure names only the cases no earlier one in this zone named: naming the others
    // again would put new records on their trail, telling of a referral elsewhere.
    const cases = this.keys.casesOfSubject(subject).filter((caseId) => !recorded?.cases.has(caseId));
    // The first erasure keeps the ids it always had; a later one's ids name its place in the stream, so a retry is recognised.
    const base = `erasure/${request.actor.zone}/${subject}`;
    const commandId = uuidV5(after === undefined ? base : `${base}/${after + 1n}`);
    try {
      const result = await this.store.append(
        stream,
        [
          {
            id: uuidV5(`${commandId}/event/0`),
            type: 'PersonErased',
            data: { subject, cases, legalBasis: request.legalBasis, reason: request.reason },
            metadata: {
              zone: request.actor.zone,
              agency: request.actor.agency,
              operator: request.actor.operator,
              occurredAt: erasedAt,
              commandId,
              correlationId: request.correlationId,
            },
          },
        ],
        after ?? 'no-stream',
      );
      this.onCommitted(result.position);
    } catch (error) {
      // Already recorded (a repeat at the same time, or another instance): the ledger holds it once.
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
    }
    // Either way the answer is what the ledger holds: a concurrent request for the same erasure
    // appends the same ids at the same place, and the store takes the second as a retry.
    return (await this.erasedIn(request.actor.zone, subject))?.erasedAt ?? erasedAt;
  }
}
