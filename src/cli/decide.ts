import type { Command } from 'commander';

/** Placeholder until the decide command lands. */
export function registerDecide(program: Command): void {
  program.command('decide').description('(not implemented yet)').action(() => {
    throw new Error('decide is not implemented yet');
  });
}
