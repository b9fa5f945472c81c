import { userInfo } from 'node:os';

/** Where the CLI writes; tests pass their own. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** A command line that does not say what to do: the usage is printed, exit code 2. */
export class UsageError extends Error {}

/** Who runs the CLI, as an operator id for metadata and the access trail. */
export function cliOperator(): string {
  try {
    return `cli:${userInfo().username.replace(/[^A-Za-z0-9._-]/g, '') || 'unknown'}`;
  } catch {
    return 'cli:unknown';
  }
}
