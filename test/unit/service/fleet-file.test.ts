/**
 * The fleet file in the service (`run --fleet`, service/wiring.ts fleetOfFile): its reload reads the file with the
 * loader's byte cap, so a fleet file swapped for a link to /dev/zero is reported, not read whole; the priorities it
 * gives the fleet round are keyed by graph names without a prototype.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadPolicyFile } from '../../../src/config/load.js';
import { createLogger } from '../../../src/log.js';
import { loadProfile } from '../../../src/profiles/index.js';
import { toLoadedPlan } from '../../../src/service/plan.js';
import { fleetOfFile } from '../../../src/service/wiring.js';

const fleetPaths = new Set<string>();
// An uncapped read of the fleet file (readFileSync) would read /dev/zero until memory runs out: here it throws instead.
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const readFileSync = ((path: unknown, ...rest: unknown[]) => {
    if (fleetPaths.has(String(path))) throw new Error(`uncapped read of ${String(path)}`);
    return (fs.readFileSync as (...args: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.readFileSync;
  return { ...fs, default: { ...fs, readFileSync }, readFileSync };
});

const ROOT = join(import.meta.dirname, '../../..');
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
  fleetPaths.clear();
});

function setup(): { path: string; lines: { event?: string; msg?: string; problems?: string[] }[]; logger: ReturnType<typeof createLogger> } {
  dir = mkdtempSync(join(tmpdir(), 'pd-fleet-file-'));
  for (const f of ['chat.yaml', 'code.yaml', 'fleet.yaml']) copyFileSync(join(ROOT, 'examples/fleet', f), join(dir, f));
  const path = join(dir, 'fleet.yaml');
  fleetPaths.add(path);
  const lines: { event?: string; msg?: string; problems?: string[] }[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s) as { event?: string; msg?: string }) } });
  return { path, lines, logger };
}

describe('run --fleet: the fleet file', () => {
  it('a fleet file swapped for a link to /dev/zero is refused at reload by its size (capped read), and the running fleet kept', () => {
    const { path, lines, logger } = setup();
    const fleet = fleetOfFile(path, logger);
    unlinkSync(path);
    symlinkSync('/dev/zero', path);
    expect(fleet.reload()).toBe(false);
    const failed = lines.find((l) => l.event === 'policy-reload-failed');
    expect(failed?.problems).toEqual([`${path}: more than 256 KB; a fleet file is a few KB (limit 256 KB): is this the right file?`]);
    expect(fleet.settings().budget.maxGpus).toBe(48);
    // Still too large: reported once, not at every change event.
    expect(fleet.reload()).toBe(false);
    expect(lines.filter((l) => l.event === 'policy-reload-failed')).toHaveLength(1);
  });

  it('a valid change of the budget takes effect; the priorities have no prototype (a graph may be named constructor)', () => {
    const { path, logger } = setup();
    const fleet = fleetOfFile(path, logger);
    expect({ ...fleet.settings().priorities }).toEqual({ chat: 2, code: 1 });
    expect(Object.getPrototypeOf(fleet.settings().priorities)).toBeNull();
    expect(fleet.settings().priorities.constructor).toBeUndefined();
    fleetPaths.delete(path);
    writeFileSync(path, `apiVersion: pd-planner/v1\nkind: PlannerFleet\nmetadata: { name: aks-h100 }\nspec:\n  budget: { maxGpus: 40 }\n  graphs:\n    - { policy: chat.yaml, priority: 3 }\n    - { policy: code.yaml }\n`);
    fleetPaths.add(path);
    expect(fleet.reload()).toBe(true);
    expect(fleet.settings().budget.maxGpus).toBe(40);
    expect(fleet.settings().priorities.chat).toBe(3);
    expect(Object.getPrototypeOf(fleet.settings().priorities)).toBeNull();
  });

  it('a graph renamed in its policy file keeps its priority', () => {
    const { path, logger } = setup();
    const fleet = fleetOfFile(path, logger);
    const chatPath = join(dir!, 'chat.yaml');
    writeFileSync(chatPath, readFileSync(chatPath, 'utf8').replace('metadata: { name: chat }', 'metadata: { name: chat-v2 }'));
    fleet.checkReloaded(chatPath, toLoadedPlan(loadPolicyFile(chatPath), loadProfile));
    expect({ ...fleet.settings().priorities }).toEqual({ 'chat-v2': 2, code: 1 });
  });
});
