import type { Command } from 'commander';

/** Placeholder until the validate command lands. */
export function registerValidate(program: Command): void {
  program.command('validate').description('(not implemented yet)').action(() => {
    throw new Error('validate is not implemented yet');
  });
}
