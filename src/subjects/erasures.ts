import { erasureStream, type EventStore, type Position, WrongExpectedRevisionError } from '../../events';
import type { Actor } from '../access/actor';
import type { KeyStore } from '../keys/key-store';
import type { Clock } from '../ledger/clock';
import { uuidV5 } from '../ledger/command-ids';

export type ErasureBasis = 'gdpr-17-1-a' | 'gdpr-17-1-b' | 'gdpr-17-1-c' | 'gdpr-17-1-d' | 'gdpr-17-1-e' | 'gdpr-17-1-f' | 'retention-period';
export type ErasureReason = 'request-of-the-person' | 'no-longer-necessary' | 'consent-withdrawn' | 'objection' | 'unlawful-processing' | 'legal-obligation' | 'retention-expired';

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
 * the key store without its event: `reconcile()` at start appends it. A repeat with nothing new
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
    const zone = request.actor.zone;
    const recorded = await this.erasedIn(zone, subject);
    const live = this.keys.hasKey(subject);
    // Nothing new since this zone's last erasure: the same answer, nothing written.
    if (recorded && !live && this.covers(recorded, subject)) return { erasedAt: recorded.erasedAt };
    const done = this.keys.erasure(subject);
    // Without a key left, the key store's erasure is this zone's where a crash came before its event.
    const erasedAt = !live && done?.zone === zone ? done.erasedAt : this.clock.now().toISOString();
    // Any key there is goes, a person's referred again after an earlier erasure included.
    if (live)
      this.keys.destroy(subject, {
        erasedAt,
        zone,
        agency: request.actor.agency,
        operator: request.actor.operator,
        legalBasis: request.legalBasis,
        reason: request.reason,
      });
    this.onErased(this.keys.casesOfSubject(subject));
    return { erasedAt: await this.record(subject, request, erasedAt, recorded?.revision) };
  }

  /** This zone's last recorded erasure of the person, if any: when, the cases of every one, and the stream's revision. */
  private async erasedIn(zone: string, subject: string): Promise<{ erasedAt: string; cases: Set<string>; revision: bigint } | undefined> {
    const events = await this.store.readStream(erasureStream(zone, subject));
    const last = events[events.length - 1];
    if (!last) return undefined;
    const cases = new Set(events.flatMap((e) => (e.type === 'PersonErased' ? (e.data as { cases: string[] }).cases : [])));
    return { erasedAt: last.metadata.occurredAt, cases, revision: last.revision };
  }

  /** Whether the recorded erasures name every case of the person: a case not named is newer (or its erasure's event was lost). */
  private covers(recorded: { cases: Set<string> }, subject: string): boolean {
    return this.keys.casesOfSubject(subject).every((caseId) => recorded.cases.has(caseId));
  }

  /** Appends the erasure's event if the key store has an erasure the ledger does not (a crash between the two). */
  async reconcile(): Promise<number> {
    let appended = 0;
    for (const erasure of this.keys.erasures()) {
      const recorded = await this.erasedIn(erasure.zone, erasure.subject);
      // A person referred again since has a key: their erasure is still to come, not to record.
      if ((recorded && this.covers(recorded, erasure.subject)) || this.keys.hasKey(erasure.subject)) continue;
      const actor = { zone: erasure.zone, agency: erasure.agency, operator: erasure.operator };
      await this.record(
        erasure.subject,
        { actor, legalBasis: erasure.legalBasis as ErasureBasis, reason: erasure.reason as ErasureReason, correlationId: 'reconcile' },
        erasure.erasedAt,
        recorded?.revision,
      );
      appended++;
    }
    return appended;
  }

  /**
   * Appends the erasure's event to the zone's ledger after the last one read (`after`); answers
   * when the ledger has it (another request's time, where that one came first).
   */
  private async record(subject: string, request: ErasureRequest, erasedAt: string, after?: bigint): Promise<string> {
    const stream = erasureStream(request.actor.zone, subject);
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
            data: { subject, cases: this.keys.casesOfSubject(subject), legalBasis: request.legalBasis, reason: request.reason },
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
      return erasedAt;
    } catch (error) {
      // Already recorded (a repeat at the same time, or another instance): the ledger holds it once.
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      return (await this.erasedIn(request.actor.zone, subject))?.erasedAt ?? erasedAt;
    }
  }
}
