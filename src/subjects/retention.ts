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

/** Whether a case of `zone` closed at `closedAt` is past its zone's retention (`years`) at `now`. */
const pastRetention = (years: ReadonlyMap<string, number>, zone: string, closedAt: string, now: number) => Date.parse(closedAt) + (years.get(zone) ?? Infinity) * YEAR_MS <= now;

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
    /** Resolves once the case index has caught up with every committed write (the service's read barrier). */
    private readonly caughtUp: () => Promise<void> = async () => undefined,
  ) {}

  /** The retention in years of each of these zones, read once each (Infinity where a zone has no protocol). */
  private async retentionYears(zones: Iterable<string>): Promise<Map<string, number>> {
    const years = new Map<string, number>();
    for (const zone of zones) if (!years.has(zone)) years.set(zone, (await this.protocols.current(zone))?.current.retentionYearsAfterClosure ?? Infinity);
    return years;
  }

  async due(): Promise<DueErasure[]> {
    await this.caughtUp();
    const now = this.clock.now().getTime();
    const closed = this.index.closedBefore(new Date(now).toISOString());
    // Every case past its retention is among these: a case closed later is not past any.
    const years = await this.retentionYears(closed.map((c) => c.zone));
    const expired = (zone: string, closedAt: string) => pastRetention(years, zone, closedAt, now);
    const subjects = new Set<string>();
    for (const c of closed) {
      if (!expired(c.zone, c.closedAt)) continue;
      const subject = this.keys.subjectOfCase(c.caseId);
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
        if (!closure?.closedAt || !expired(closure.zone, closure.closedAt)) {
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
   * Erases these persons, each only if still due when its keys are about to go, which may be
   * long after due() looked (a daily run walks every person due, one after another), and a
   * destroyed key cannot be given back. Looked at again, after the case index has caught up with
   * every committed write and with each zone's retention read again: every case of the person
   * still closed at the same instant and past its zone's retention (a case reopened since, or a
   * retention lengthened by a renewal, keeps the person whole), and no case of theirs beyond those
   * (a person referred again has a new case sealed with their key). Returns how many were erased.
   */
  async erase(due: readonly DueErasure[]): Promise<number> {
    let erased = 0;
    for (const person of due) {
      await this.caughtUp();
      const years = await this.retentionYears(person.cases.map((c) => c.zone));
      const listed = new Map(person.cases.map((c) => [c.caseId, c]));
      const stillDue = () => {
        const now = this.clock.now().getTime();
        return this.keys.casesOfSubject(person.subject).every((caseId) => {
          // A case erased before (its key destroyed) holds nothing to keep.
          if (!this.keys.keyOfCase(caseId)) return true;
          const looked = listed.get(caseId);
          const closure = this.index.closureOf(caseId);
          return looked !== undefined && closure?.closedAt === looked.closedAt && closure.zone === looked.zone && pastRetention(years, closure.zone, closure.closedAt, now);
        });
      };
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
