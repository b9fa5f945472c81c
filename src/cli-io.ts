import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

/** Where the CLI writes; tests pass their own. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** A command line that does not say what to do: the usage is printed, exit code 2. */
export class UsageError extends Error {}

/** A command that takes nothing more (`rebuild --dry-run` must not rebuild): anything more is a UsageError. */
export function noArguments(command: string, rest: readonly string[]): void {
  if (rest.length > 0) throw new UsageError(`${command} takes no arguments (got ${rest.join(' ')})`);
}

/** A JSON file the command line names; one it cannot read or parse is a UsageError `<where> <file>: <why>`. */
export function readJsonFile(file: string, where: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${where} ${file}: ${(error as Error).message}`);
  }
}

/** Who runs the CLI, as an operator id for metadata and the access trail. */
export function cliOperator(): string {
  try {
    return `cli:${userInfo().username.replace(/[^A-Za-z0-9._-]/g, '') || 'unknown'}`;
  } catch {
    return 'cli:unknown';
  }
}
