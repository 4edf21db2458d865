import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadProfile } from '../../src/profiles/index.js';
import { DecodeItl, PrefillTimes, quantileSorted, quantilesInPlace } from '../../src/sim/cluster/index.js';

const llama = loadProfile('builtin:llama2-70b-h100-tp4', process.cwd());

describe('PrefillTimes', () => {
  const times = new PrefillTimes(llama, 40_000);

  it('uses the profile within the measured ISL range', () => {
    expect(times.ms(2048)).toBeCloseTo(200.681, 9);
    expect(times.ms(3000)).toBeCloseTo(llama.prefillTtftMs(3000).value, 9);
    // memoised value is the same on the second call
    expect(times.ms(3000)).toBeCloseTo(llama.prefillTtftMs(3000).value, 9);
  });

  it('extrapolates beyond the largest ISL at the rate measured there instead of clamping', () => {
    // 953.582 ms at 8192 → 8192 / 953.582 tok/ms; 16384 tokens = twice the time.
    expect(times.ms(16384)).toBeCloseTo(1907.164, 3);
    expect(times.ms(12288)).toBeCloseTo(953.582 * 1.5, 3);
    expect(llama.prefillTtftMs(16384).value).toBeCloseTo(953.582, 3); // what clamping would have said
    // beyond the memo size too
    expect(times.ms(81920)).toBeCloseTo(9535.82, 2);
  });
});

describe('DecodeItl', () => {
  const itl = new DecodeItl(llama);

  it('equals the profile wherever the profile measured (kv within each row)', () => {
    for (const ctx of [576, 800, 1024, 3000, 8192, 20000, 65536, 100000]) {
      for (const kv of [0, 0.001, 0.01, 0.05, 0.1, 0.2, 0.3]) {
        const expected = llama.decodeItlMs(kv, ctx);
        if (expected.clamped?.includes('above the measured') && expected.clamped.includes('kv')) continue;
        expect(itl.ms(kv, ctx)).toBeCloseTo(expected.value, 9);
      }
    }
  });

  it('equals the profile at any kv and context the profile measured (both profiles, random points)', () => {
    for (const profile of [llama, loadProfile('builtin:dynamo-format-synthetic', process.cwd())]) {
      const fast = new DecodeItl(profile);
      const rows = profile.decode.rows;
      const lastKv = (ctx: number) => {
        const below = rows.filter((r) => r.ctx <= ctx).at(-1) ?? rows[0]!;
        const above = rows.find((r) => r.ctx >= ctx) ?? rows.at(-1)!;
        return Math.min(below.kv.at(-1)!, above.kv.at(-1)!);
      };
      fc.assert(
        fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 100, max: 100_000, noNaN: true }), (kv, ctx) => {
          fc.pre(kv <= lastKv(ctx));
          expect(fast.ms(kv, ctx)).toBeCloseTo(profile.decodeItlMs(kv, ctx).value, 9);
        }),
        { numRuns: 2000 },
      );
    }
  });

  it('worked example of the lookup table: row 576 at kv 0.2', () => {
    // Segment [0.16384, 0.24576] of row 576: ITL = y(0.16384) + (0.2 - 0.16384) x slope.
    const row = llama.decode.rows[0]!;
    const k = row.kv.indexOf(0.16384);
    const slope = (row.itlMs[k + 1]! - row.itlMs[k]!) / (row.kv[k + 1]! - row.kv[k]!);
    expect(row.itlMs[k]).toBeCloseTo(73.23, 1);
    expect(slope).toBeCloseTo(273.77, 1);
    expect(itl.ms(0.2, 576)).toBeCloseTo(row.itlMs[k]! + (0.2 - 0.16384) * slope, 9);
    expect(itl.ms(0.2, 576)).toBeCloseTo(83.13, 1);
  });

  it('extrapolates along the last segment above a row’s last measured kv', () => {
    // Row 576 ends at kv 0.32768 (256 requests) at 118.083 ms, after 95.656 ms at kv 0.24576.
    // 512 requests of context 576 = kv 0.65536 → 118.083 + 0.32768 x (22.427 / 0.08192) = 207.79 ms
    // (the profile's step-time model: 28.38 + 0.350 x 512 = 207.6 ms); the profile clamps to 118.083.
    expect(itl.ms(0.65536, 576)).toBeCloseTo(207.79, 1);
    expect(llama.decodeItlMs(0.65536, 576).value).toBeCloseTo(118.083, 3);
  });
});

describe('quantiles', () => {
  it('interpolate between closest ranks', () => {
    expect(quantileSorted([100, 200, 300, 400], 4, 0.95)).toBeCloseTo(385, 9);
    const a = Float32Array.from([400, 100, 300, 200]);
    expect(quantilesInPlace(a, 4, [0.95, 0.5, 0])).toEqual([385, 250, 100]);
    expect(quantilesInPlace(new Float32Array(0), 0, [0.5])).toEqual([NaN]);
  });

  it('selection gives what sorting gives', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 300 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }), (values, qs) => {
        const sorted = Float32Array.from(values).sort();
        const got = quantilesInPlace(Float32Array.from(values), values.length, qs);
        qs.forEach((q, k) => expect(got[k]).toBeCloseTo(quantileSorted(sorted, sorted.length, q), 6));
      }),
    );
  });
});
