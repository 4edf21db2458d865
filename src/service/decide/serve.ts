/**
 * The body of a decide worker thread: rebuilds specs and profiles from what the service sent (kept by id, the last
 * KEEP of each) and answers each request with `decideWith(input)`, and each fleet request with decideFleet() over
 * its graphs, which calls `decideWith` for each of them. The real worker passes planner/decide's decide(); a test
 * entry may pass a function that misbehaves.
 */
import { parentPort } from 'node:worker_threads';
import type { PolicySpec } from '../../config/schema.js';
import { messageOf } from '../../errors.js';
import { decideFleet, type FleetGraphInput } from '../../fleet/decide.js';
import type { DecideInput, DecideResult } from '../../planner/decide.js';
import { profileFromData } from '../../profiles/profile.js';
import type { PerformanceProfile } from '../../profiles/types.js';
import type { DecideReply, DecideRequest, FleetRequest, ReadyMessage, WorkerRequest } from './protocol.js';

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
  const keep = (sent: { specId: number; spec?: PolicySpec; profileId: number; profile?: DecideRequest['profile'] }) => {
    if (sent.spec) specs.set(sent.specId, sent.spec);
    if (sent.profile) {
      const d = sent.profile;
      profiles.set(sent.profileId, profileFromData(d.prefill, d.decode, d.name, d.source));
    }
  };
  const one = (request: DecideRequest): DecideReply => {
    keep(request);
    const spec = specs.get(request.specId);
    const profile = profiles.get(request.profileId);
    if (!spec || !profile) return { id: request.id, missing: true };
    const input: DecideInput = { spec, profile, observation: request.observation, state: request.state, now: request.now };
    if (request.forecastOverride) input.forecastOverride = request.forecastOverride;
    if (request.poll) input.poll = true;
    if (request.panic) input.panic = request.panic;
    return { id: request.id, result: decideWith(input) };
  };
  const fleet = (request: FleetRequest): DecideReply => {
    const { name, budget, now, graphs: sent } = request.fleet;
    for (const g of sent) keep(g);
    const graphs: FleetGraphInput[] = [];
    for (const g of sent) {
      const spec = specs.get(g.specId);
      const profile = profiles.get(g.profileId);
      if (!spec || !profile) return { id: request.id, missing: true };
      const graph: FleetGraphInput = { name: g.name, priority: g.priority, spec, profile, state: g.state };
      if (g.observation) graph.observation = g.observation;
      if (g.forecastOverride) graph.forecastOverride = g.forecastOverride;
      if (g.poll) graph.poll = true;
      graphs.push(graph);
    }
    return { id: request.id, fleetResult: decideFleet({ name, budget, now, graphs }, decideWith) };
  };
  port.on('message', (request: WorkerRequest) => {
    let reply: DecideReply;
    try {
      reply = 'fleet' in request ? fleet(request) : one(request);
    } catch (error) {
      reply = { id: request.id, error: messageOf(error) };
    }
    port.postMessage(reply);
  });
  port.postMessage({ ready: true } satisfies ReadyMessage);
}
