/** Worker thread body for sweeps: runs one scenario per message and posts the report back. */
import { parentPort } from 'node:worker_threads';
import { runScenario, type Scenario } from './scenario.js';
import { messageOf } from '../errors.js';

parentPort?.on('message', async (message: { id: number; scenario: Scenario }) => {
  try {
    const report = await runScenario(message.scenario);
    parentPort?.postMessage({ id: message.id, report });
  } catch (error) {
    const problems = (error as { problems?: string[] }).problems;
    parentPort?.postMessage({ id: message.id, error: messageOf(error), problems });
  }
});
