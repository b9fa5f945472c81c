import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEYS_FOLDER_PREFIX } from './support/temp-folders';

/** Stops the EventStoreDB container the global setup started, if it started one, and removes this run's key folders. */
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __eventstore?: { stop(): Promise<unknown> } }).__eventstore?.stop();
  const prefix = KEYS_FOLDER_PREFIX();
  for (const name of readdirSync(tmpdir())) if (name.startsWith(prefix)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
}
