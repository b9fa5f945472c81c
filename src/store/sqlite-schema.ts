import type Database from 'better-sqlite3';

/*
 * What a SQLite file of the service already holds, asked before it is used: files made by an
 * earlier version may lack a table or a column, and are brought up to date where they are opened
 * (the Merkle log, the checkpoints, the Idempotency-Key reservations). The views file has its own
 * (projections/views-db.ts): projections/ does not import src/.
 */

/** Whether the file has a table of this name. */
export function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** Whether the table has a column of this name (false where there is no such table). */
export function columnExists(db: Database.Database, table: string, column: string): boolean {
  return db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, column) !== undefined;
}
