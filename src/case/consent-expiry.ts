import { SYSTEM_AGENCY, SYSTEM_OPERATORS } from '../../events';
import type { CaseIndex } from '../../projections/read-models';
import type { Clock } from '../ledger/clock';
import { RuleViolation } from '../errors';
import { uuidV5 } from '../ledger/command-ids';
import type { CaseLedger } from './case-ledger';
import type { CaseDecision } from './decision';
import { expireConsent } from './expire-consent';

const expire: CaseDecision<{ consentId: string }> = (state, input, ctx) => expireConsent(state, input.consentId, ctx.now);

/**
 * When an authorisation's `validUntil` passes, the service appends ConsentExpired itself
 * (API.md), so that every view stays a function of the ledger. The command id is derived from
 * the consent, so two instances, or two ticks, expiring the same consent write it once.
 */
export class ConsentExpiry {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<number> | undefined;

  constructor(
    private readonly cases: CaseLedger,
    private readonly index: CaseIndex,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /**
   * Looks every `pollMs` (and at once, for what fell due while the service was down) whether an
   * authorisation is past its `validUntil`, and expires what is: a look is one indexed read of
   * the case index, so an authorisation stops releasing data within about a second of its
   * deadline rather than at the next minute.
   */
  start(pollMs = 1_000): void {
    if (this.timer) return;
    const look = () => {
      if (this.ticking || !this.index.anyConsentDue(this.clock.now().toISOString())) return;
      void this.tick().catch(this.onError);
    };
    this.timer = setInterval(look, pollMs);
    this.timer.unref();
    look();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  /** Expires every authorisation due now; returns how many it expired. */
  tick(): Promise<number> {
    this.ticking ??= this.expireDue().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async expireDue(): Promise<number> {
    const now = this.clock.now();
    let expired = 0;
    for (const due of this.index.dueConsents(now.toISOString())) {
      try {
        await this.cases.execute({
          actor: { zone: due.zone, agency: SYSTEM_AGENCY, operator: SYSTEM_OPERATORS.consentExpiry, roles: [] },
          caseId: due.caseId,
          decision: expire,
          input: { consentId: due.consentId },
          commandId: uuidV5(`consent-expiry/${due.zone}/${due.caseId}/${due.consentId}`),
          correlationId: 'consent-expiry',
        });
        expired++;
      } catch (error) {
        // Withdrawn or expired meanwhile: nothing to do; the views will catch up.
        if (!(error instanceof RuleViolation)) this.onError(error);
      }
    }
    return expired;
  }
}
