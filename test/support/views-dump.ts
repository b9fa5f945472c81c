import type { ReadModels } from '../../projections/read-models';
import { tableExists } from '../../projections/views-db';

/**
 * Every read model row, in a stable order, to compare two projections of the same ledger. Sealed
 * columns are opened (each seal has a fresh IV, so equal views have unequal ciphertexts).
 */
export function dumpViews(models: ReadModels): Record<string, unknown[]> {
  const db = models.db;
  const sealer = models.crypto.sealer;
  const dump: Record<string, unknown[]> = {};
  const partitions = db.prepare('SELECT id, zone, agency FROM partitions').all() as Array<{ id: number; zone: string; agency: string }>;
  for (const p of partitions) {
    const rows = (db.prepare(`SELECT * FROM p${p.id}_cases ORDER BY case_id`).all() as Array<Record<string, Buffer | string | null>>).map((r) => ({
      ...r,
      sealed: sealer.open(r.case_id as string, 'row', r.sealed!),
    }));
    if (rows.length) dump[`views ${p.zone}/${p.agency}`] = rows;
  }
  dump.case_summary = (db.prepare('SELECT * FROM case_summary ORDER BY zone, case_id').all() as Array<Record<string, Buffer | string>>).map((r) => ({
    ...r,
    codes: sealer.open(r.case_id as string, 'codes', r.codes!),
  }));
  // The copy of the ledger's case events exists only where the views are not computed from the ledger itself (ledger-copy.ts).
  if (tableExists(db, 'case_entries')) dump.case_entries = db.prepare('SELECT * FROM case_entries ORDER BY zone, case_id, revision').all();
  for (const [name, sql] of [
    ['case_zones', 'SELECT * FROM case_zones ORDER BY zone, case_id'],
    ['protocol_entries', 'SELECT * FROM protocol_entries ORDER BY zone, revision'],
    ['person_cases', 'SELECT * FROM person_cases ORDER BY zone, person_key, case_id'],
    ['consent_deadlines', 'SELECT * FROM consent_deadlines ORDER BY zone, case_id, consent_id'],
    ['case_agencies', 'SELECT * FROM case_agencies ORDER BY zone, case_id, agency'],
    ['trail', 'SELECT id, zone, at, agency, operator, roles, action, case_id, categories, purpose, basis, outcome, ip FROM trail ORDER BY id'],
    ['trail_owners', 'SELECT t.id, o.owner, o.categories, o.basis FROM trail_owners o JOIN trail t ON t.seq = o.seq ORDER BY t.id, o.owner'],
    ['dirty_cases', 'SELECT * FROM dirty_cases'],
  ] as const) {
    dump[name] = db.prepare(sql).all();
  }
  return dump;
}
