/**
 * Rules every command's flags follow, applied by program.ts to each command (kept apart from options.ts, which pulls
 * in the simulator's modules, so `validate` does not load them).
 */
import type { Command } from 'commander';
import { InputError } from '../errors.js';

/** Parser of a repeatable option (`run --policy`, `simulate --fleet --trace NAME=FILE`): every value, in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Nothing on the command line is silently dropped: a flag that takes one value, given again with another, is refused
 * (commander keeps the last: `--param gpu-budget=16 --param ttft-ms=500` swept only ttft-ms); the same value twice
 * drops nothing and passes. An empty value is refused too (an empty --out was the working directory).
 * Repeatable options are those parsed with `collect`; switches without a value (--force) are left alone.
 */
export function refuseRepeatsAndBlanks(command: Command): void {
  // An empty argument (`validate ""`, a shell variable that was not set) is named, not read as the file "".
  command.hook('preAction', () => {
    command.registeredArguments.forEach((argument, i) => {
      const value: unknown = command.args[i];
      if (typeof value === 'string' && value.trim() === '') {
        throw new InputError([`<${argument.name()}>: the argument is empty; give one (see pd-planner ${command.name()} --help)`]);
      }
    });
  });
  const seen = new Map<string, string>();
  for (const option of command.options) {
    if (!option.required && !option.optional) continue;
    const flag = option.long ?? option.name();
    const repeatable = option.parseArg === collect || option.variadic;
    command.on(`option:${option.name()}`, (value: unknown) => {
      if (typeof value !== 'string') return;
      if (value.trim() === '') throw new InputError([`${flag}: the value is empty; give one (see pd-planner ${command.name()} --help)`]);
      if (repeatable) return;
      const before = seen.get(flag);
      if (before !== undefined && before !== value) throw new InputError([`${flag}: given twice ("${before}", then "${value}"); give it once`]);
      seen.set(flag, value);
    });
  }
}
