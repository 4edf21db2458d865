#!/usr/bin/env node
// Launcher for `npx pd-planner` and `npm start`.
// In a source checkout with the dev dependencies installed it runs the TypeScript in src/ through tsx, so a clone
// works without a build and never runs a stale dist/. Otherwise (the container image, an `--omit=dev` install) it
// runs the compiled JavaScript from `npm run build` in dist/ with plain node.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);

async function tsxRegister() {
  try {
    return (await import('tsx/esm/api')).register;
  } catch (error) {
    if (error?.code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

const register = existsSync(source) ? await tsxRegister() : undefined;
if (register) {
  register();
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write('pd-planner: neither the sources with tsx (npm ci) nor a build (npm run build -> dist/) were found\n');
  process.exitCode = 1;
}
