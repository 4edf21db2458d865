/** The cluster model's typed-array containers against plain reference implementations. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventQueue } from '../../src/sim/cluster/eventQueue.js';
import { IndexedMinHeap } from '../../src/sim/cluster/indexedHeap.js';
import { IntDeque } from '../../src/sim/cluster/intDeque.js';
import { KeyedMinHeap } from '../../src/sim/cluster/keyedHeap.js';

describe('EventQueue', () => {
  it('pops events in time order with their payload, growing as needed', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 200 }), (times) => {
        const q = new EventQueue(16);
        times.forEach((t, k) => q.push(t, k % 7, k, k * 3));
        const seen: number[] = [];
        while (q.pop()) {
          expect(q.popTag).toBe(q.popId * 3);
          expect(q.popKind).toBe(q.popId % 7);
          expect(q.popTime).toBe(times[q.popId]);
          seen.push(q.popTime);
        }
        expect(seen).toEqual([...times].sort((a, b) => a - b));
        expect(q.peekTime()).toBe(Infinity);
      }),
    );
  });
});

describe('KeyedMinHeap', () => {
  it('pops ids by ascending key', () => {
    const h = new KeyedMinHeap(2);
    [130, 95, 400, 95.5].forEach((k, id) => h.push(k, id));
    expect(h.peekKey()).toBe(95);
    expect([h.popId(), h.popId(), h.popId(), h.popId(), h.popId()]).toEqual([1, 3, 0, 2, -1]);
  });
});

describe('IndexedMinHeap', () => {
  it('keeps one key per slot, moved in place, matching a map scanned for its minimum', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), slot: fc.integer({ min: 0, max: 150 }), key: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ kind: fc.constant('remove' as const), slot: fc.integer({ min: 0, max: 150 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const h = new IndexedMinHeap(4);
        const ref = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            h.set(o.slot, o.key);
            ref.set(o.slot, o.key);
          } else {
            h.remove(o.slot);
            ref.delete(o.slot);
          }
          expect(h.size).toBe(ref.size);
          const min = ref.size > 0 ? Math.min(...ref.values()) : Infinity;
          expect(h.peekKey()).toBe(min);
          if (ref.size > 0) expect(ref.get(h.peekSlot())).toBe(min);
        }
      }),
    );
  });
});

describe('IntDeque', () => {
  it('is FCFS with push-front for re-queues, across growth', () => {
    const q = new IntDeque(16);
    const ref: number[] = [];
    for (let k = 0; k < 100; k++) {
      if (k % 3 === 0) {
        q.pushFront(k);
        ref.unshift(k);
      } else {
        q.pushBack(k);
        ref.push(k);
      }
      if (k % 5 === 0) expect(q.popFront()).toBe(ref.shift());
    }
    expect(q.size).toBe(ref.length);
    expect(Array.from({ length: q.size }, (_, i) => q.at(i))).toEqual(ref);
  });
});
