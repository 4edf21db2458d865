/**
 * pd-planner command line: the process entry. The commands and the exit codes (0 ok, 2 bad input: policy,
 * observation, trace; 1 anything else) are in program.ts, so tests can run the same code in-process.
 */
import { main } from './program.js';

const code = await main(process.argv);
if (code !== 0) process.exitCode = code;
