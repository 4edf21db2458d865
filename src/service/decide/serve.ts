/**
 * The body of a decide worker thread: rebuilds specs and profiles from what the service sent (kept by id, the last
 * KEEP of each) and answers each request with `decideWith(input)`. The real worker passes planner/decide's
 * decide(); a test entry may pass a function that misbehaves.
 */
import { parentPort } from 'node:worker_threads';
import type { PolicySpec } from '../../config/schema.js';
import { messageOf } from '../../errors.js';
import type { DecideInput, DecideResult } from '../../planner/decide.js';
import { profileFromData } from '../../profiles/profile.js';
import type { PerformanceProfile } from '../../profiles/types.js';
import type { DecideReply, DecideRequest, ReadyMessage } from './protocol.js';

/** Specs and profiles kept per worker: more than the policies of one process, fewer than reloads could pile up. */
export const KEEP = 256;

/** A map that forgets its oldest entry past `limit`; a read makes an entry the newest. */
class Recent<T> {
  readonly #map = new Map<number, T>();
  constructor(readonly limit: number) {}
  get(id: number): T | undefined {
    const value = this.#map.get(id);
    if (value !== undefined) {
      this.#map.delete(id);
      this.#map.set(id, value);
    }
    return value;
  }
  set(id: number, value: T): void {
    this.#map.delete(id);
    this.#map.set(id, value);
    if (this.#map.size > this.limit) this.#map.delete(this.#map.keys().next().value as number);
  }
}

export function serveDecide(decideWith: (input: DecideInput) => DecideResult): void {
  const port = parentPort;
  if (!port) throw new Error('serveDecide runs in a worker thread');
  const specs = new Recent<PolicySpec>(KEEP);
  const profiles = new Recent<PerformanceProfile>(KEEP);
  port.on('message', (request: DecideRequest) => {
    let reply: DecideReply;
    try {
      if (request.spec) specs.set(request.specId, request.spec);
      if (request.profile) {
        const d = request.profile;
        profiles.set(request.profileId, profileFromData(d.prefill, d.decode, d.name, d.source));
      }
      const spec = specs.get(request.specId);
      const profile = profiles.get(request.profileId);
      if (!spec || !profile) reply = { id: request.id, missing: true };
      else {
        const input: DecideInput = { spec, profile, observation: request.observation, state: request.state, now: request.now };
        if (request.forecastOverride) input.forecastOverride = request.forecastOverride;
        reply = { id: request.id, result: decideWith(input) };
      }
    } catch (error) {
      reply = { id: request.id, error: messageOf(error) };
    }
    port.postMessage(reply);
  });
  port.postMessage({ ready: true } satisfies ReadyMessage);
}
