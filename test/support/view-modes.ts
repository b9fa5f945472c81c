/**
 * The two ways the views are computed, for suites that must hold in both (describe.each): from a
 * copy of the ledger kept in the views file (EventStoreDB mode), or reading the embedded ledger.
 */
export const VIEW_MODES: ReadonlyArray<readonly [string, boolean]> = [
  ['keeping a copy of the ledger (EventStoreDB mode)', false],
  ['reading the embedded ledger itself', true],
];
