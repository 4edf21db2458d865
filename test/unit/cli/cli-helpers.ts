/**
 * Two ways to run a command: in-process (fast; the command's own module with the same InputError -> exit 2
 * handling as src/cli/main.ts) and as the real binary (`node bin/pd-planner.js`, to check main.ts's exit codes).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { vi } from 'vitest';
import { InputError } from '../../../src/errors.js';

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export async function runInProcess(register: (program: Command) => void, args: string[]): Promise<CliResult> {
  const program = new Command().exitOverride();
  register(program);
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  let status = 0;
  try {
    await program.parseAsync(['node', 'pd-planner', ...args]);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    for (const problem of error.problems) stderr += `${problem}\n`;
    status = 2;
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { status, stdout, stderr };
}

export function runCli(args: string[]): CliResult {
  const result = spawnSync(process.execPath, ['bin/pd-planner.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
