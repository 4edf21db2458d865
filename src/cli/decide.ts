/**
 * `pd-planner decide --policy POLICY --observation FILE.json [--state FILE.json] [--state-out FILE.json]`:
 * one planner tick, offline. Prints the Decision (desired replicas per pool and the explanation) as JSON.
 * The decision time is the observation's `time`; --state/--state-out chain ticks by hand (the state is written
 * atomically, and where it goes is checked before anything is decided).
 */
import type { Command } from 'commander';
import { loadPolicyFile } from '../config/load.js';
import { loadObservationFile } from '../config/observation.js';
import { checkStateOut, loadStateFile, writeStateFile } from '../config/state-file.js';
import { InputError } from '../errors.js';
import { decide } from '../planner/decide.js';
import { initialState } from '../planner/state.js';
import { loadProfile } from '../profiles/load.js';

interface DecideOptions {
  policy: string;
  observation: string;
  state?: string;
  stateOut?: string;
}

export function registerDecide(program: Command): void {
  program
    .command('decide')
    .description('one decision for one observation, with its explanation, as JSON')
    .requiredOption('--policy <file>', 'policy file (YAML)')
    .requiredOption('--observation <file>', 'observation (JSON, see docs/observation.md)')
    .option('--state <file>', 'planner state from a previous --state-out (forecast history, correction factors, stabilization window)')
    .option('--state-out <file>', 'write the planner state after this decision, for the next --state')
    .action((opts: DecideOptions) => {
      // Where the state goes is checked first: a decision printed and then lost to a missing directory is worse than none.
      if (opts.stateOut) checkStateOut(opts.stateOut);
      const loaded = loadPolicyFile(opts.policy);
      const profile = loaded.profile ?? loadProfile(loaded.spec.profile, loaded.baseDir);
      const { observation, warnings } = loadObservationFile(opts.observation, loaded.spec);
      const state = opts.state ? loadStateFile(opts.state) : initialState();
      const now = Date.parse(observation.time);
      if (Number.isNaN(now)) throw new InputError([`observation.time: cannot read "${observation.time}" as a time`]);

      const names = new Set(loaded.spec.pools.map((p) => p.name));
      const strangers = Object.keys(state.last ?? {}).filter((name) => !names.has(name));
      if (strangers.length > 0) {
        warnings.push(`state.last: pools ${strangers.join(', ')} are not in the policy; was --state written for another policy?`);
      }
      // Ticks chain forward in time: an observation at or before the state's last tick is usually files taken in the
      // wrong order (the forecast history and the stabilization window then hold the future). Said, not refused.
      const stateTimes = [...state.history.map((h) => h.time), ...state.recommendations.map((r) => r.time)];
      const latest = stateTimes.reduce((a, b) => (b > a ? b : a), -Infinity);
      if (now <= latest) {
        warnings.push(`observation.time: ${new Date(now).toISOString()} is not after the last tick in --state (${new Date(latest).toISOString()}); chain decide in time order, a later observation each time`);
      }
      for (const warning of [...loaded.warnings, ...warnings]) process.stderr.write(`warning: ${warning}\n`);
      const result = decide({ spec: loaded.spec, profile, observation, state, now });
      // The state first, atomically: the printed decision is then always one whose state was kept.
      if (opts.stateOut) writeStateFile(opts.stateOut, result.state);
      process.stdout.write(`${JSON.stringify(result.decision, null, 2)}\n`);
    });
}
