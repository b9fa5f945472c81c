/**
 * Where this run's key folders start (test/support/keys.ts makes them, the global teardown
 * removes them): a folder per key store, never removed, had filled the disk over many runs.
 */
export const KEYS_FOLDER_PREFIX = (): string => `ledger-keys-${process.env.LEDGER_TEST_RUN ?? 'unnamed'}-`;
