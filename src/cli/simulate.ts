import type { Command } from 'commander';

/** Placeholder until the simulate command lands. */
export function registerSimulate(program: Command): void {
  program.command('simulate').description('(not implemented yet)').action(() => {
    throw new Error('simulate is not implemented yet');
  });
}
