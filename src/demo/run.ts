import { runDemo } from './demo';

void runDemo({ out: (line) => process.stdout.write(`${line}\n`), width: process.stdout.columns ?? 120, colours: process.stdout.isTTY === true }).catch((error: unknown) => {
  process.stderr.write(`demo failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
