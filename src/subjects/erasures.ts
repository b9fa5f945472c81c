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
 * the key store without its event: `reconcile()` at start appends it. A repeat finds the
 * erasure done and answers what the first one did.
 */
export class Erasures {
  constructor(
    private readonly store: EventStore,
    private readonly keys: KeyStore,
    private readonly clock: Clock,
    private readonly onCommitted: (position: Position) => void = () => undefined,
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
    if (recorded) return { erasedAt: recorded };
    const done = this.keys.erasure(subject);
    // The key store's erasure is this zone's where a crash came before its event.
    const erasedAt = done?.zone === zone ? done.erasedAt : this.clock.now().toISOString();
    if (!done)
      this.keys.destroy(subject, {
        erasedAt,
        zone,
        agency: request.actor.agency,
        operator: request.actor.operator,
        legalBasis: request.legalBasis,
        reason: request.reason,
      });
    return { erasedAt: await this.record(subject, request, erasedAt) };
  }

  /** When this zone's ledger recorded the person's erasure, if it did. */
  private async erasedIn(zone: string, subject: string): Promise<string | undefined> {
    const [event] = await this.store.readStream(erasureStream(zone, subject));
    return event?.metadata.occurredAt;
  }

  /** Appends the erasure's event if the key store has an erasure the ledger does not (a crash between the two). */
  async reconcile(): Promise<number> {
    let appended = 0;
    for (const erasure of this.keys.erasures()) {
      if (await this.erasedIn(erasure.zone, erasure.subject)) continue;
      const actor = { zone: erasure.zone, agency: erasure.agency, operator: erasure.operator };
      await this.record(
        erasure.subject,
        { actor, legalBasis: erasure.legalBasis as ErasureBasis, reason: erasure.reason as ErasureReason, correlationId: 'reconcile' },
        erasure.erasedAt,
      );
      appended++;
    }
    return appended;
  }

  /** Appends the erasure's event to the zone's ledger; answers when the ledger has it (another request's time, where that one came first). */
  private async record(subject: string, request: ErasureRequest, erasedAt: string): Promise<string> {
    const stream = erasureStream(request.actor.zone, subject);
    const commandId = uuidV5(`erasure/${request.actor.zone}/${subject}`);
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
        'no-stream',
      );
      this.onCommitted(result.position);
      return erasedAt;
    } catch (error) {
      // Already recorded (a repeat at the same time, or another instance): the ledger holds it once.
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      return (await this.erasedIn(request.actor.zone, subject)) ?? erasedAt;
    }
  }
}
