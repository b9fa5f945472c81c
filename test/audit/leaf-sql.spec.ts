import Database from 'better-sqlite3';
import fc from 'fast-check';
import { leafFromHex, PREFIXED_LEAF_HEX_SQL, prefixedLeafBytes } from '../../src/audit/leaf';

/*
 * The leaf bytes SQLite builds for verification (PREFIXED_LEAF_HEX_SQL) against the ones the
 * service hashes when it appends (prefixedLeafBytes), on rows the service's own events do not
 * reach: text outside ASCII in every text field, empty and large payloads.
 */
describe('the leaf bytes made in SQL', () => {
  const db = new Database(':memory:');
  db.exec(
    'CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT NOT NULL, revision INTEGER NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, data BLOB NOT NULL, metadata BLOB NOT NULL)',
  );
  const insert = db.prepare<[string, number, string, string, Buffer, Buffer]>('INSERT INTO events (stream, revision, id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)');
  const leaf = db.prepare<[number], { leaf: string | null }>(`SELECT ${PREFIXED_LEAF_HEX_SQL} AS leaf FROM events WHERE position = ?`);
  afterAll(() => db.close());

  const sameAs = (row: { stream: string; revision: number; id: string; type: string; data: Buffer; metadata: Buffer }) => {
    const position = Number(insert.run(row.stream, row.revision, row.id, row.type, row.data, row.metadata).lastInsertRowid);
    const made = Buffer.from(leafFromHex(leaf.get(position)!.leaf, position));
    return made.equals(prefixedLeafBytes(row));
  };

  it('are the bytes the service hashes, for text outside ASCII, empty fields and payloads past 64 KB', () => {
    const rows = [
      { stream: 'case-città-€-𝄞', revision: 0, id: 'ïd-ü', type: 'Référé', data: Buffer.alloc(0), metadata: Buffer.alloc(0) },
      { stream: 'case-x', revision: 12_345_678, id: 'id', type: 't', data: Buffer.alloc(200_000, 0xa5), metadata: Buffer.from('{"città":"Pescia"}') },
      { stream: '', revision: 1, id: '', type: '', data: Buffer.from([0, 1, 2, 0xff]), metadata: Buffer.from([0xc3]) },
    ];
    for (const row of rows) expect({ stream: row.stream, same: sameAs(row) }).toEqual({ stream: row.stream, same: true });
  });

  it('are the bytes the service hashes, for any row', () => {
    fc.assert(
      fc.property(
        fc.record({
          stream: fc.string({ unit: 'grapheme', maxLength: 40 }),
          revision: fc.nat(),
          id: fc.string({ unit: 'grapheme', maxLength: 40 }),
          type: fc.string({ unit: 'grapheme', maxLength: 40 }),
          data: fc.uint8Array({ maxLength: 2_000 }).map((a) => Buffer.from(a)),
          metadata: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
        }),
        (row) => sameAs(row),
      ),
      { numRuns: 300 },
    );
  });
});
