import Database from 'better-sqlite3';
import fc from 'fast-check';
import { LEAF_CHUNK_SQL, leafChunk, type LeafChunkRow, leafFromHex, PREFIXED_LEAF_HEX_SQL, prefixedLeafBytes } from '../../src/audit/leaf';

/*
 * The leaf bytes SQLite builds for verification (PREFIXED_LEAF_HEX_SQL a row each, and
 * LEAF_CHUNK_SQL with leafChunk for many rows at once) against the ones the service hashes when
 * it appends (prefixedLeafBytes), on rows the service's own events do not reach: text outside
 * ASCII in every text field, empty and large payloads.
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

  it('are the same bytes when a chunk of rows is read in one row, for every row written above', () => {
    const rows = db
      .prepare<[], { position: number; stream: string; revision: number; id: string; type: string; data: Buffer; metadata: Buffer }>('SELECT * FROM events ORDER BY position')
      .all();
    expect(rows.length).toBeGreaterThan(300);
    const chunk = db.prepare<[number, number], LeafChunkRow>(LEAF_CHUNK_SQL);
    const seen: Array<{ position: number; stream: string; leaf: Buffer }> = [];
    const last = rows[rows.length - 1]!.position;
    for (let from = 0; from < last; from += 37) {
      const to = Math.min(from + 37, last);
      expect(leafChunk(chunk.get(from, to)!, from, to, (position, stream, leaf) => seen.push({ position, stream, leaf: Buffer.from(leaf) }))).toBe(true);
    }
    expect(seen.map((s) => s.position)).toEqual(rows.map((r) => r.position));
    const differing = rows.filter((row, i) => seen[i]!.stream !== row.stream || !seen[i]!.leaf.equals(prefixedLeafBytes(row)));
    expect(differing.map((r) => r.position)).toEqual([]);
  });
});

describe('a chunk of rows read in one row', () => {
  const db = new Database(':memory:');
  // No NOT NULL here: a table rebuilt by hand.
  db.exec('CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT, revision INTEGER, id TEXT, type TEXT, data BLOB, metadata BLOB)');
  const insert = db.prepare('INSERT INTO events (stream, revision, id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)');
  const chunk = db.prepare<[number, number], LeafChunkRow>(LEAF_CHUNK_SQL);
  afterAll(() => db.close());
  for (let i = 0; i < 5; i++) insert.run(`case-z.${i}`, i, `id-${i}`, 'Referred', Buffer.from([i, 0, 255]), Buffer.from('{}'));
  const read = (row: LeafChunkRow, after: number, upTo: number) => {
    const positions: number[] = [];
    return { used: leafChunk(row, after, upTo, (position) => positions.push(position)), positions };
  };

  it('is read in position order', () => {
    expect(read(chunk.get(1, 4)!, 1, 4)).toEqual({ used: true, positions: [2, 3, 4] });
    expect(read(chunk.get(5, 9)!, 5, 9)).toEqual({ used: true, positions: [] });
  });

  it('is refused, with nothing read, where a row must say what is wrong: a NULL field, positions out of range or of order, lengths that do not add up', () => {
    const good = chunk.get(0, 5)!;
    expect(read(good, 0, 4)).toEqual({ used: false, positions: [] });
    expect(read(good, 1, 5)).toEqual({ used: false, positions: [] });
    const fields = good.fields!;
    const swapped = fields.slice(64, 128) + fields.slice(0, 64) + fields.slice(128);
    expect(read({ ...good, fields: swapped }, 0, 5)).toEqual({ used: false, positions: [] });
    expect(read({ ...good, bytes: good.bytes!.subarray(1) }, 0, 5)).toEqual({ used: false, positions: [] });
    expect(read({ ...good, fields: fields.slice(1) }, 0, 5)).toEqual({ used: false, positions: [] });
    db.prepare('UPDATE events SET data = NULL WHERE position = 3').run();
    expect(read(chunk.get(0, 5)!, 0, 5)).toEqual({ used: false, positions: [] });
  });
});
