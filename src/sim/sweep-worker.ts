/** Worker thread body for sweeps: runs one scenario per message and posts the report back. */
import { parentPort } from 'node:worker_threads';
import { runScenario, type Scenario } from './scenario.js';
import { messageOf } from '../errors.js';

parentPort?.on('message', async (message: { id: number; scenario: Scenario }) => {
  try {
    // Its warnings (trace lines skipped, sorting, policy warnings) go back with the report, for the command to print.
    const warnings: string[] = [];
    const report = await runScenario(message.scenario, { onWarning: (warning) => warnings.push(warning) });
    parentPort?.postMessage({ id: message.id, report, warnings });
  } catch (error) {
    const problems = (error as { problems?: string[] }).problems;
    parentPort?.postMessage({ id: message.id, error: messageOf(error), problems });
  }
});
