import type { CaseSealer } from '../../events';
import { HeldWrites } from '../../projections/read-models/held-writes';

/* The runner's writes held back while their texts are sealed elsewhere (projections/read-models/held-writes.ts). */
describe('writes held back in a transaction', () => {
  const handed: string[] = [];
  const sealer: CaseSealer = {
    seal: (caseId, context, text) => Buffer.from(`now:${caseId}/${context}/${text}`),
    sealSoon: (caseId, context, text) => {
      handed.push(text);
      return () => Buffer.from(`soon:${caseId}/${context}/${text}`);
    },
    open: () => undefined,
    personId: (fc) => fc,
    forget: () => undefined,
  };
  beforeEach(() => (handed.length = 0));

  it('runs a write at once outside hold(), sealed in the calling thread', () => {
    const done: string[] = [];
    const writes = new HeldWrites(sealer);
    writes.sealed('c1', 'row', 't', (b) => done.push(Buffer.from(b).toString()));
    writes.plain(() => done.push('plain'));
    expect(done).toEqual(['now:c1/row/t', 'plain']);
    expect(handed).toEqual([]);
  });

  it('runs every held write, in the order given, before hold() returns', () => {
    const done: string[] = [];
    const writes = new HeldWrites(sealer);
    const result = writes.hold(() => {
      for (let i = 0; i < 150; i++) {
        writes.sealed(`c${i}`, 'row', `t${i}`, (b) => done.push(Buffer.from(b).toString()));
        if (i % 7 === 0) writes.plain(() => done.push(`removed ${i}`));
      }
      return 'computed';
    });
    expect(result).toBe('computed');
    const expected: string[] = [];
    for (let i = 0; i < 150; i++) {
      expected.push(`soon:c${i}/row/t${i}`);
      if (i % 7 === 0) expected.push(`removed ${i}`);
    }
    expect(done).toEqual(expected);
    expect(handed).toHaveLength(150);
  });

  it('runs the oldest ones while it holds many, so that no more than a window waits', () => {
    const done: string[] = [];
    const writes = new HeldWrites(sealer);
    writes.hold(() => {
      for (let i = 0; i < HeldWrites.WINDOW; i++) writes.sealed('c', 'row', `t${i}`, () => done.push(`t${i}`));
      expect(done).toHaveLength(HeldWrites.WINDOW / 2);
      expect(done[0]).toBe('t0');
    });
    expect(done).toHaveLength(HeldWrites.WINDOW);
  });

  it('drops what it held when the work throws (its transaction rolls back), and holds again afterwards', () => {
    const done: string[] = [];
    const writes = new HeldWrites(sealer);
    expect(() =>
      writes.hold(() => {
        writes.sealed('c1', 'row', 'lost', () => done.push('lost'));
        throw new Error('a view could not be computed');
      }),
    ).toThrow('a view could not be computed');
    expect(done).toEqual([]);
    writes.hold(() => writes.sealed('c2', 'row', 'kept', () => done.push('kept')));
    expect(done).toEqual(['kept']);
  });
});
