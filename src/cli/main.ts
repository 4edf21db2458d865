/**
 * pd-planner command line. Each command lives in its own module and registers itself here.
 * Exit codes: 0 ok, 2 bad input (policy, observation, trace), 1 anything else.
 */
import { Command } from 'commander';
import { InputError } from '../errors.js';
import { registerValidate } from './validate.js';
import { registerDecide } from './decide.js';
import { registerSimulate } from './simulate.js';
import { registerSweep } from './sweep.js';
import { registerRun } from './run.js';

const program = new Command();
program
  .name('pd-planner')
  .description('SLO-driven prefill/decode autoscaler for NVIDIA Dynamo graphs, with an offline what-if simulator')
  .showHelpAfterError()
  .exitOverride();

registerValidate(program);
registerDecide(program);
registerSimulate(program);
registerSweep(program);
registerRun(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = exitCodeFor(error);
}

function exitCodeFor(error: unknown): number {
  if (error instanceof InputError) {
    for (const problem of error.problems) process.stderr.write(`${problem}\n`);
    return 2;
  }
  // commander already printed its own message (unknown option, missing argument, --help).
  if (error && typeof error === 'object' && 'code' in error && String(error.code).startsWith('commander.')) {
    const code = (error as { exitCode?: number }).exitCode ?? 2;
    return code === 0 ? 0 : 2;
  }
  process.stderr.write(`pd-planner: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
}
