import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Before the tests: an EventStoreDB for the store contract suite's second leg. EVENTSTORE_URL,
 * when set, is used as it is. Otherwise, where a Docker engine answers, testcontainers starts
 * one (single node, insecure, in memory). Where none does, the reason is left for the suite to
 * print, and nothing waits: the machines this was written on have no Docker engine.
 */
export default async function globalSetup(): Promise<void> {
  // Names this run's temporary key folders (test/support/keys.ts), for the teardown to remove.
  process.env.LEDGER_TEST_RUN ??= `${process.pid}-${Date.now()}`;
  await findEventStore();
  // Jest does not show what a skipped file prints when it runs many files: say it here, once.
  if (process.env.EVENTSTORE_SKIP_REASON) process.stdout.write(`\nEventStoreDB contract tests skipped: ${process.env.EVENTSTORE_SKIP_REASON}\n`);
}

async function findEventStore(): Promise<void> {
  if (process.env.EVENTSTORE_URL) return;
  const sockets = ['/var/run/docker.sock', join(homedir(), '.docker/run/docker.sock'), join(homedir(), '.docker/desktop/docker.sock')];
  if (!process.env.DOCKER_HOST && !sockets.some((s) => existsSync(s))) {
    process.env.EVENTSTORE_SKIP_REASON = 'no EVENTSTORE_URL and no Docker engine (no DOCKER_HOST, no docker socket)';
    return;
  }
  try {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('eventstore/eventstore:24.10.5-bookworm-slim')
      .withEnvironment({
        EVENTSTORE_CLUSTER_SIZE: '1',
        EVENTSTORE_RUN_PROJECTIONS: 'None',
        EVENTSTORE_INSECURE: 'true',
        EVENTSTORE_MEM_DB: 'true',
      })
      .withExposedPorts(2113)
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(120_000)
      .start();
    (globalThis as { __eventstore?: { stop(): Promise<unknown> } }).__eventstore = container;
    process.env.EVENTSTORE_URL = `esdb://${container.getHost()}:${container.getMappedPort(2113)}?tls=false`;
  } catch (error) {
    process.env.EVENTSTORE_SKIP_REASON = `no EVENTSTORE_URL and no working Docker engine (${(error as Error).message.split('\n')[0]})`;
  }
}
