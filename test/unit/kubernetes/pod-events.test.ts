/**
 * The eviction log of the informers: each evicted pod counted once in its life, however often a re-list shows it, and
 * memory that follows the pods, not the time the planner has run.
 */
import { describe, expect, it } from 'vitest';
import { PodEventLog } from '../../../src/kubernetes/informers/pod-events.js';
import type { Pod } from '../../../src/kubernetes/informers/pod-rules.js';

const T0 = Date.parse('2026-11-25T10:00:00Z');
const MINUTE = 60_000;
const evictedPod = (name: string): Pod => ({ metadata: { name, uid: `uid-${name}` }, status: { phase: 'Failed', reason: 'Evicted' } });
const all = () => true;

describe('PodEventLog', () => {
  it('an evicted pod that stays (Failed, reason Evicted) is counted once, not again each time a re-list shows it after an hour', () => {
    let now = T0;
    const log = new PodEventLog(() => now);
    const pod = evictedPod('decode-a');
    log.evicted('uid-decode-a', pod);
    expect(log.report('decode-spot', now, all)).toEqual({ evicted: 1, notices: 0 });
    // Two hours of ticks, a resync re-listing the pod every 10 minutes.
    let counted = 0;
    for (let minute = 1; minute <= 120; minute += 1) {
      now = T0 + minute * MINUTE;
      if (minute % 10 === 0) log.evicted('uid-decode-a', pod);
      counted += log.report('decode-spot', now, all).evicted;
      log.forgetReported();
    }
    expect(counted).toBe(0);
    // Deleted at last: nothing of it is kept.
    log.deleted('uid-decode-a');
    expect(log.evictionsHeld).toBe(0);
  });

  it('a pool that stops reporting (its policy removed) does not keep every later eviction for good', () => {
    let now = T0;
    const log = new PodEventLog(() => now);
    log.report('gone-policy-pool', now, all);
    // Three hours: an eviction a minute (the pod deleted at once, lost with its Spot node), one pool reporting.
    for (let minute = 1; minute <= 180; minute += 1) {
      now = T0 + minute * MINUTE;
      log.evicted(`uid-${minute}`, evictedPod(String(minute)));
      log.deleted(`uid-${minute}`);
      expect(log.report('decode-spot', now, all).evicted).toBe(1);
      log.forgetReported();
    }
    // What the last hour noted, not all 180.
    expect(log.evictionsHeld).toBeLessThanOrEqual(61);
  });

  it('a pod on a node that stays cordoned for hours is one notice, not one an hour; a notice after the node was uncordoned counts again', () => {
    let now = T0;
    const log = new PodEventLog(() => now);
    const pod: Pod = { metadata: { name: 'decode-a', uid: 'uid-decode-a' }, status: { phase: 'Running' } };
    log.noticed('uid-decode-a', pod);
    let counted = log.report('decode-spot', now, all).notices;
    for (let minute = 1; minute <= 180; minute += 1) {
      now = T0 + minute * MINUTE;
      // Every resync re-lists the pod, and the node still has its notice.
      if (minute % 10 === 0 && !log.hasNotice('uid-decode-a')) log.noticed('uid-decode-a', pod);
      counted += log.report('decode-spot', now, all).notices;
      log.forgetReported();
    }
    expect(counted).toBe(1);
    // Uncordoned, then drained again: a new notice.
    log.noticeLifted('uid-decode-a');
    log.noticed('uid-decode-a', pod);
    expect(log.report('decode-spot', now, all).notices).toBe(1);
  });
});
