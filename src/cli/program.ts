/**
 * The pd-planner command line as a function: `main(argv)` parses, runs one command and returns the exit code
 * (0 ok, 2 bad input: policy, observation, trace or flags; 1 anything else). `main.ts` is the process entry that
 * calls it; tests call it in-process to run many cases in one node.
 *
 * Only the module of the command being run is imported: `run` pulls in the Kubernetes client and
 * `simulate` the chart renderer, and neither should slow down the other (or `validate`).
 */
import { Command } from 'commander';
import { InputError, messageOf } from '../errors.js';
import { packageVersion } from '../image.js';
import { refuseRepeatsAndBlanks } from './flag-rules.js';

type Register = (program: Command) => void;
/** Every command, by name: the module that registers it, imported only when it runs (tests register them all). */
export const COMMANDS: Record<string, () => Promise<Register>> = {
  validate: async () => (await import('./validate.js')).registerValidate,
  decide: async () => (await import('./decide.js')).registerDecide,
  simulate: async () => (await import('./simulate.js')).registerSimulate,
  sweep: async () => (await import('./sweep.js')).registerSweep,
  reserve: async () => (await import('./reserve.js')).registerReserve,
  run: async () => (await import('./run.js')).registerRun,
};

/** A file with thousands of problems (the wrong file, usually) should not flood the terminal. */
const MAX_PRINTED_PROBLEMS = 100;

/**
 * Run the CLI on `argv` (as process.argv: node, script, command, ...). Output goes to process.stdout/stderr.
 * Returns the exit code; a command may also set process.exitCode itself (`run` does), which 0 here leaves alone.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command();
  program
    .name('pd-planner')
    .description('SLO-driven prefill/decode autoscaler for NVIDIA Dynamo graphs, with an offline what-if simulator')
    .version(packageVersion(), '-V, --version', 'print the pd-planner version')
    .showHelpAfterError()
    .exitOverride();
  try {
    const requested = argv[2];
    const names = requested && Object.hasOwn(COMMANDS, requested) ? [requested] : Object.keys(COMMANDS);
    for (const name of names) (await (COMMANDS[name] as () => Promise<Register>)())(program);
    for (const command of program.commands) refuseRepeatsAndBlanks(command);
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    return exitCodeFor(error);
  }
}

function exitCodeFor(error: unknown): number {
  if (error instanceof InputError) {
    for (const problem of error.problems.slice(0, MAX_PRINTED_PROBLEMS)) process.stderr.write(`${problem}\n`);
    const more = error.problems.length - MAX_PRINTED_PROBLEMS;
    if (more > 0) process.stderr.write(`... and ${more} more problem${more === 1 ? '' : 's'} (fix the ones above first)\n`);
    return 2;
  }
  // commander already printed its own message (unknown option, missing argument, --help).
  if (error && typeof error === 'object' && 'code' in error && String(error.code).startsWith('commander.')) {
    const code = (error as { exitCode?: number }).exitCode ?? 2;
    return code === 0 ? 0 : 2;
  }
  process.stderr.write(`pd-planner: ${messageOf(error)}\n`);
  return 1;
}
