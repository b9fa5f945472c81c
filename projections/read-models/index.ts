import type Database from 'better-sqlite3';
import type { CaseSealer, EventCodec } from '../../events';
import { finishBuild, openViewsDb, openViewsDbForBuild } from '../views-db';
import { AccessTrail } from './access-trail';
import { AgencyCases } from './agency-cases';
import { CaseIndex } from './case-index';
import { HeldWrites } from './held-writes';
import { LedgerCopy, type LedgerReader } from './ledger-copy';

export * from './access-trail';
export * from './activity';
export * from './agency-cases';
export * from './case-index';
export * from './held-writes';
export * from './ledger-copy';

/**
 * How the read models read and keep personal data: a case's events are read through the one
 * codec (from the ledger, or from the views file's copy of it), and views, names and counted
 * codes are sealed under each case's person's data key.
 */
export interface ReadModelCrypto {
  readonly codec: EventCodec;
  readonly sealer: CaseSealer;
}

/** Every read model, in one SQLite file, so that they and the checkpoint commit together. */
export class ReadModels {
  readonly ledger: LedgerCopy;
  readonly cases: AgencyCases;
  readonly index: CaseIndex;
  readonly trail: AccessTrail;
  /** Views and summaries written in hold() wait for their sealed bytes until its end (held-writes.ts). */
  readonly writes: HeldWrites;
  private readonly getCheckpoint: Database.Statement<[string], { position: string }>;
  private readonly setCheckpoint: Database.Statement<[string, string]>;

  /** The file being built from position 0 (ReadModels.build), until finishBuild(). */
  private building: string | undefined;

  /** `reader`: the embedded ledger, read for a case's events instead of keeping a copy of them (ledger-copy.ts). */
  constructor(
    readonly db: Database.Database,
    readonly crypto: ReadModelCrypto,
    reader?: LedgerReader,
  ) {
    this.getCheckpoint = db.prepare('SELECT position FROM checkpoint WHERE name = ?');
    this.setCheckpoint = db.prepare('INSERT OR REPLACE INTO checkpoint (name, position) VALUES (?, ?)');
    this.ledger = new LedgerCopy(db, crypto.codec, () => this.checkpoint(), reader);
    this.writes = new HeldWrites(crypto.sealer);
    this.cases = new AgencyCases(db, this.ledger, crypto.sealer, this.writes);
    this.index = new CaseIndex(db, crypto.sealer, this.writes);
    this.trail = new AccessTrail(db);
  }

  /** `ledger`: the identity of the store the views follow; views of another log are thrown away (views-db.ts). */
  static open(file: string, crypto: ReadModelCrypto, ledger?: string, reader?: LedgerReader): ReadModels {
    return new ReadModels(openViewsDb(file, ledger), crypto, reader);
  }

  /** Read models in a new file to compute from position 0, alone and with the service stopped (views-db.ts openViewsDbForBuild); finishBuild() ends it. */
  static build(file: string, crypto: ReadModelCrypto, ledger?: string, reader?: LedgerReader): ReadModels {
    const models = new ReadModels(openViewsDbForBuild(file, ledger), crypto, reader);
    models.building = file;
    return models;
  }

  /** Makes a built file whole, durable and ready for the service, and closes it. */
  finishBuild(): void {
    if (this.building === undefined) throw new Error('these read models are not being built');
    finishBuild(this.db, this.building);
    this.building = undefined;
  }

  checkpoint(): string | undefined {
    return this.getCheckpoint.get('ledger')?.position;
  }

  saveCheckpoint(position: string): void {
    this.setCheckpoint.run('ledger', position);
  }

  transaction<T>(work: () => T): T {
    try {
      return this.db.transaction(work)();
    } catch (error) {
      this.ledger.forgetRecent();
      throw error;
    }
  }

  close(): void {
    this.db.close();
  }
}
