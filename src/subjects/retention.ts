import { SYSTEM_AGENCY } from '../../events';
import type { CaseIndex } from '../../projections/read-models';
import type { KeyStore } from '../keys/key-store';
import type { Clock } from '../ledger/clock';
import type { ProtocolLedger } from '../protocol/protocol-ledger';
import type { Erasures } from './erasures';

/** A person whose every case has been closed for longer than its zone's retention period. */
export interface DueErasure {
  /** The person's pseudonym (never their name or fiscal code). */
  readonly subject: string;
  readonly cases: ReadonlyArray<{ readonly caseId: string; readonly zone: string; readonly closedAt: string }>;
  /** When the last of their cases' retention ended. */
  readonly dueSince: string;
}

const YEAR_MS = 365.25 * 24 * 60 * 60 * 1000;

/**
 * Retention (issue: "every protocol has a retention period"): a person is erased, by destroying
 * their keys, once every case of theirs, in every zone, has been closed longer than that zone's
 * protocol's `retentionYearsAfterClosure`. A person with any open case, or with a case closed
 * more recently, is kept whole; a case erased before (a person referred again after an erasure)
 * counts for nothing. The service runs it every day; `ledger retention --dry-run`
 * lists who would be erased, by pseudonym.
 */
export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly keys: KeyStore,
    private readonly index: CaseIndex,
    private readonly protocols: ProtocolLedger,
    private readonly erasures: Erasures,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  async due(): Promise<DueErasure[]> {
    const now = this.clock.now().getTime();
    const years = new Map<string, number>();
    const retention = async (zone: string) => {
      if (!years.has(zone)) years.set(zone, (await this.protocols.current(zone))?.current.retentionYearsAfterClosure ?? Infinity);
      return years.get(zone)!;
    };
    const expired = async (zone: string, closedAt: string) => Date.parse(closedAt) + (await retention(zone)) * YEAR_MS <= now;
    const subjects = new Set<string>();
    for (const closed of this.index.closedBefore(new Date(now).toISOString())) {
      if (!(await expired(closed.zone, closed.closedAt))) continue;
      const subject = this.keys.subjectOfCase(closed.caseId);
      // Erased once does not mean erased for good: a person referred again since has a key again.
      if (subject && this.keys.hasKey(subject)) subjects.add(subject);
    }
    const due: DueErasure[] = [];
    for (const subject of subjects) {
      const cases: Array<{ caseId: string; zone: string; closedAt: string }> = [];
      let all = true;
      for (const caseId of this.keys.casesOfSubject(subject)) {
        // A case erased before (its key destroyed) holds nothing to keep, whatever its status.
        if (!this.keys.keyOfCase(caseId)) continue;
        const closure = this.index.closureOf(caseId);
        if (!closure?.closedAt || !(await expired(closure.zone, closure.closedAt))) {
          all = false;
          break;
        }
        cases.push({ caseId, zone: closure.zone, closedAt: closure.closedAt });
      }
      if (!all || cases.length === 0) continue;
      const last = cases.reduce((a, c) => Math.max(a, Date.parse(c.closedAt) + years.get(c.zone)! * YEAR_MS), 0);
      due.push({ subject, cases, dueSince: new Date(last).toISOString() });
    }
    return due.sort((a, b) => (a.dueSince < b.dueSince ? -1 : 1));
  }

  /** Erases every person due; returns how many. Two runs at once share one. */
  run(): Promise<number> {
    this.running ??= (async () => this.erase(await this.due()))().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * Erases these persons, each only if still due when its keys are about to go: a person
   * referred again since due() looked has a new case sealed with their key (a referral reuses
   * it), and that case is not past its retention. Returns how many were erased.
   */
  async erase(due: readonly DueErasure[]): Promise<number> {
    let erased = 0;
    for (const person of due) {
      const cases = new Set(person.cases.map((c) => c.caseId));
      const stillDue = () => this.keys.casesOfSubject(person.subject).every((caseId) => cases.has(caseId) || !this.keys.keyOfCase(caseId));
      const done = await this.erasures.eraseSubjectIf(
        person.subject,
        {
          actor: { zone: person.cases[0]!.zone, agency: SYSTEM_AGENCY, operator: `${SYSTEM_AGENCY}:retention` },
          legalBasis: 'retention-period',
          reason: 'retention-expired',
          correlationId: 'retention',
        },
        stillDue,
      );
      if (done) erased++;
    }
    return erased;
  }

  start(intervalMs = 24 * 60 * 60 * 1000): void {
    this.timer ??= setInterval(() => void this.run().catch(this.onError), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
