/** Stops the EventStoreDB container the global setup started, if it started one. */
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __eventstore?: { stop(): Promise<unknown> } }).__eventstore?.stop();
}
