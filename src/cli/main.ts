/**
 * pd-planner command line. Each command lives in its own module and registers itself here.
 * Exit codes: 0 ok, 2 bad input (policy, observation, trace), 1 anything else.
 *
 * Only the module of the command being run is imported: `run` pulls in the Kubernetes client and
 * `simulate` the chart renderer, and neither should slow down the other (or `validate`).
 */
import { Command } from 'commander';
import { InputError } from '../errors.js';

type Register = (program: Command) => void;
const COMMANDS: Record<string, () => Promise<Register>> = {
  validate: async () => (await import('./validate.js')).registerValidate,
  decide: async () => (await import('./decide.js')).registerDecide,
  simulate: async () => (await import('./simulate.js')).registerSimulate,
  sweep: async () => (await import('./sweep.js')).registerSweep,
  run: async () => (await import('./run.js')).registerRun,
};

const program = new Command();
program
  .name('pd-planner')
  .description('SLO-driven prefill/decode autoscaler for NVIDIA Dynamo graphs, with an offline what-if simulator')
  .showHelpAfterError()
  .exitOverride();

try {
  const requested = process.argv[2];
  const names = requested && requested in COMMANDS ? [requested] : Object.keys(COMMANDS);
  for (const name of names) (await (COMMANDS[name] as () => Promise<Register>)())(program);
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
