/**
 * Loading a profile directory (Dynamo layout) named by `spec.profile`.
 *
 * `builtin:NAME` is a directory under the package's `profiles/` folder (found from this module's URL, so it works
 * from any working directory); anything else is a directory path, relative to `baseDir` (the policy file's folder).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_PROFILE_BYTES, readCapped } from '../config/read.js';
import { InputError, messageOf } from '../errors.js';
import { profileFromData } from './profile.js';
import type { PerformanceProfile } from './types.js';

/** The package's bundled profiles: <package root>/profiles (this file is <root>/src/profiles/load.ts). */
export const BUILTIN_PROFILES_DIR = fileURLToPath(new URL('../../profiles/', import.meta.url));
export const DEFAULT_PROFILE = 'builtin:llama2-70b-h100-tp4';
const FILES = ['prefill_raw_data.json', 'decode_raw_data.json'] as const;

/** Names of the bundled profiles (directories under profiles/ holding both JSON files). */
export function builtinProfiles(): string[] {
  if (!existsSync(BUILTIN_PROFILES_DIR)) return [];
  return readdirSync(BUILTIN_PROFILES_DIR)
    .filter((name) => FILES.every((f) => existsSync(join(BUILTIN_PROFILES_DIR, name, f))))
    .sort();
}

function problem(line: string): never {
  throw new InputError([line]);
}

function readJson(dir: string, file: string, ref: string): unknown {
  const path = join(dir, file);
  if (!existsSync(path)) {
    const npz = ['selected_prefill_interpolation', 'selected_decode_interpolation'].some((d) => existsSync(join(dir, d, 'raw_data.npz')));
    problem(
      `spec.profile: ${path} not found (profile "${ref}"); a profile directory holds prefill_raw_data.json and decode_raw_data.json` +
        (npz ? ' (this looks like Dynamo profiler NPZ output: export the planner-profile-data ConfigMap JSON files instead)' : ''),
    );
  }
  let text: string;
  try {
    text = readCapped(path, { bytes: MAX_PROFILE_BYTES, what: 'a profile file is a few hundred KB' }).toString('utf8');
  } catch (err) {
    problem(`spec.profile: ${err instanceof InputError ? err.problems.join('; ') : `cannot read ${path}: ${messageOf(err)}`}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    problem(`spec.profile: ${path} is not valid JSON: ${messageOf(err)}`);
  }
}

/**
 * Load `ref` ("builtin:NAME" or a directory path relative to `baseDir`).
 * Throws InputError `spec.profile: ...` naming the path and what to do when it is missing or malformed.
 */
export function loadProfile(ref: string, baseDir: string): PerformanceProfile {
  let dir: string;
  let name: string;
  if (ref.startsWith('builtin:')) {
    name = ref.slice('builtin:'.length);
    const known = builtinProfiles();
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.') || !known.includes(name)) {
      problem(`spec.profile: no bundled profile "${name}"; bundled profiles: ${known.map((k) => `builtin:${k}`).join(', ') || '(none found)'}`);
    }
    dir = join(BUILTIN_PROFILES_DIR, name);
  } else {
    dir = isAbsolute(ref) ? ref : resolve(baseDir, ref);
    name = dir.split(/[\\/]/).filter(Boolean).pop() ?? ref;
    if (!existsSync(dir)) {
      problem(
        `spec.profile: directory ${dir} not found ("${ref}" relative to ${baseDir}); give a directory holding prefill_raw_data.json and decode_raw_data.json, or a bundled profile such as ${DEFAULT_PROFILE}`,
      );
    }
    if (!statSync(dir).isDirectory()) problem(`spec.profile: ${dir} is a file; give the directory holding prefill_raw_data.json and decode_raw_data.json`);
  }
  const [prefill, decode] = FILES.map((f) => readJson(dir, f, ref));
  return profileFromData(prefill, decode, name, ref.startsWith('builtin:') ? ref : dir);
}
