import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NO_FOCUSED_TESTS = { selector: "CallExpression[callee.property.name='only']", message: 'no focused tests' };

/**
 * The decision core: a pure function of (policy, observations, state, now), shared by the service and the simulator.
 * It takes the clock, the metric source and the connector as arguments (planner/ports.ts) and reaches for none of
 * them itself: no I/O, clock, timer, randomness, client library or shell folder. test/unit/architecture checks the
 * same rule through every module the core imports, not only its own import lines.
 */
const CORE = ['src/planner/**', 'src/policies/**', 'src/constraints/**', 'src/forecast/**', 'src/profiles/**', 'src/fleet/**'];
/** profiles/load.ts reads profile files from disk (the one file of the core folders that does I/O); profiles/index.ts re-exports it for the shell. */
const CORE_EXCEPTIONS = ['src/profiles/load.ts', 'src/profiles/index.ts'];
const WHY = 'the decision core does no I/O and reads no clock: take it as an argument (planner/ports.ts) and let the shell provide it';

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', NO_FOCUSED_TESTS],
    },
  },
  {
    files: CORE,
    ignores: CORE_EXCEPTIONS,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'node-cron', allowImportNames: ['parse', 'ParsedFields'], message: 'only node-cron\'s pure `parse`: its scheduler runs timers' }],
          patterns: [
            { group: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)], message: `node built-ins do I/O, timers or randomness; ${WHY}` },
            { regex: `^(?![./]|node:|zod$|simple-statistics$|node-cron$|(${builtinModules.join('|')})(/|$))`, message: `only zod, simple-statistics (pure maths) and node-cron's parse among packages: the others are clients, servers or I/O; ${WHY}` },
            {
              regex: '(^|/)(service|sources|kubernetes|connectors|cli|sim)/|(^|/)log\\.js$|(^|/)config/(load|read|observation|state-file)\\.js$|(^|/)profiles/(load|index)\\.js$',
              message: 'the core does not import the shell (service, sources, kubernetes, connectors, cli, sim, log) or a file reader: the shell imports the core',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...['process', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate', 'queueMicrotask', 'fetch', 'performance', 'console', 'crypto', 'require'].map(
          (name) => ({ name, message: `\`${name}\` is I/O, a timer, randomness or the environment; ${WHY}` }),
        ),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: `Date.now() reads the clock; ${WHY}` },
        { object: 'Math', property: 'random', message: 'Math.random() makes the decision irreproducible; take a seeded generator as an argument' },
        { object: 'globalThis', message: `globalThis reaches the environment; ${WHY}` },
      ],
      'no-restricted-syntax': [
        'error',
        NO_FOCUSED_TESTS,
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: `new Date() reads the clock; use the \`now\` you were given: new Date(now); ${WHY}` },
        { selector: "CallExpression[callee.name='Date']", message: `Date() reads the clock; ${WHY}` },
        { selector: 'ImportExpression', message: 'no dynamic import in the core: it is how I/O modules get loaded' },
      ],
    },
  },
);
