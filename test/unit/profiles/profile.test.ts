import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { builtinProfiles, loadProfile, profileFromData } from '../../../src/profiles/index.js';

const synthetic = loadProfile('builtin:dynamo-format-synthetic', '/nonexistent');
const llama = loadProfile('builtin:llama2-70b-h100-tp4', '/nonexistent');

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as InputError).problems;
  }
  throw new Error('expected an InputError');
}

const prefill = { prefill_isl: [100, 200], prefill_ttft: [10, 30], prefill_thpt_per_gpu: [10000, 6666.67] };
const decode = {
  x_kv_usage: [0, 1, 0, 1],
  y_context_length: [1000, 1000, 2000, 2000],
  z_itl: [10, 20, 10, 30],
  z_thpt_per_gpu: [100, 1000, 100, 500],
  max_kv_tokens: 1000,
};

describe('bundled profiles', () => {
  it('lists both bundled profiles and loads their metadata', () => {
    expect(builtinProfiles()).toEqual(['dynamo-format-synthetic', 'llama2-70b-h100-tp4']);
    expect(synthetic.maxKvTokens).toBe(200000);
    expect(synthetic.source).toBe('builtin:dynamo-format-synthetic');
    expect(synthetic.decode.rows.map((r) => r.ctx)).toEqual([762, 1274, 2298, 4346, 8442]);
    expect(llama.maxKvTokens).toBe(450000);
    expect(llama.prefill.isl).toHaveLength(7);
    expect(llama.decode.rows.map((r) => r.ctx)).toEqual([576, 1024, 2048, 4096, 8192, 16384, 32768, 65536]);
  });
});

describe('prefill interpolation (linear in ISL, clamped)', () => {
  it('hits measured points exactly', () => {
    expect(synthetic.prefillThptPerGpu(2048)).toEqual({ value: 22028.2664 });
    expect(synthetic.prefillTtftMs(4096).value).toBe(183.5258);
  });
  it('is linear between points: isl 3000 -> 22028.2664 + 952/2048 x 290.1186 = 22163.1', () => {
    const r = synthetic.prefillThptPerGpu(3000);
    expect(r.value).toBeCloseTo(22163.1262, 3);
    expect(r.clamped).toBeUndefined();
    // TTFT: 92.9715 + 0.46484 x 90.5543 = 135.06 ms
    expect(synthetic.prefillTtftMs(3000).value).toBeCloseTo(135.0650, 3);
  });
  it('clamps above the range and says so', () => {
    const r = synthetic.prefillThptPerGpu(20000);
    expect(r.value).toBe(16531.2407);
    expect(r.clamped).toBe('isl 20000 above the measured 16384; used 16384');
  });
  it('clamps below the range and says so', () => {
    const r = llama.prefillTtftMs(50);
    expect(r.value).toBe(49.086);
    expect(r.clamped).toBe('isl 50 below the measured 128; used 128');
  });
});

describe('decode interpolation (linear in kv within a row, then across rows)', () => {
  it('reads a measured point exactly', () => {
    expect(synthetic.decodeItlMs(0.4022, 2298).value).toBeCloseTo(9.3086, 10);
  });
  it('is linear in kv within a row: row 762 between kv 0.2019 and 0.4001', () => {
    // 8.8677 + (0.3 - 0.2019)/(0.4001 - 0.2019) x (10.7002 - 8.8677) = 9.7747
    expect(synthetic.decodeItlMs(0.3, 762).value).toBeCloseTo(9.77470, 4);
  });
  it('is linear across rows: kv 1, ctx 3075 -> 5703 tok/s/GPU (the worked example in src/profiles/profile.ts)', () => {
    const thpt = synthetic.decodeThptPerGpu(1, 3075);
    expect(thpt.value).toBeCloseTo(5702.89, 1);
    expect(thpt.clamped).toBeUndefined(); // 0.9996 is within the kv tolerance of 1
    expect(synthetic.decodeItlMs(1, 3075).value).toBeCloseTo(12.4273, 3);
  });
  it('clamps context above the last row and says so', () => {
    const r = synthetic.decodeItlMs(0.5, 20000);
    expect(r.value).toBeCloseTo(synthetic.decodeItlMs(0.5, 8442).value, 12);
    expect(r.clamped).toBe('context 20000 above the measured 8442; used 8442');
  });
  it('clamps context below the first row and says so', () => {
    const r = synthetic.decodeThptPerGpu(0.2019, 100);
    expect(r.value).toBeCloseTo(5976.7336, 6);
    expect(r.clamped).toBe('context 100 below the measured 762; used 762');
  });
  it('reports a kv query far beyond what a row measured', () => {
    // llama row 576 stops at kv 0.32768 (256 sequences)
    const r = llama.decodeItlMs(0.9, 576);
    expect(r.value).toBe(118.083);
    expect(r.clamped).toBe('kv 0.9 above the measured 0.3277 at context 576; used 0.3277');
  });
});

describe('bestDecode (largest kv with ITL <= target, exact inversion)', () => {
  it('returns kv 1 when the whole row meets the target (ITL 50 ms)', () => {
    const b = synthetic.bestDecode(50, 3075);
    expect(b).toMatchObject({ kv: 1, feasible: true });
    expect(b.thptPerGpu).toBeCloseTo(5702.89, 1);
  });
  it('reproduces the reference 3906 tok/s/GPU (kv 0.553) at ITL 10 ms, ctx 3000 + 150/2', () => {
    const b = synthetic.bestDecode(10, 3075);
    expect(b.feasible).toBe(true);
    expect(b.kv).toBeCloseTo(0.5526, 4);
    expect(b.itlMs).toBeCloseTo(10, 10);
    expect(Math.round(b.thptPerGpu)).toBe(3906);
    // consistent with the forward lookups
    expect(synthetic.decodeItlMs(b.kv, 3075).value).toBeCloseTo(10, 9);
    expect(synthetic.decodeThptPerGpu(b.kv, 3075).value).toBeCloseTo(b.thptPerGpu, 9);
  });
  it('reproduces the reference 6104 tok/s/GPU (kv 0.441) at ITL 10 ms, ctx 1024 + 1000/2', () => {
    const b = synthetic.bestDecode(10, 1524);
    expect(b.kv).toBeCloseTo(0.4413, 4);
    expect(Math.round(b.thptPerGpu)).toBe(6104);
  });
  it('is infeasible below the kv-0 ITL: returns kv 0 and feasible false', () => {
    const b = synthetic.bestDecode(5, 3075);
    expect(b.feasible).toBe(false);
    expect(b.kv).toBe(0);
    // kv 0 clamps to each row's first point: 7.066 and 7.1069 blended at t 0.3794
    expect(b.itlMs).toBeCloseTo(7.0815, 4);
    expect(b.thptPerGpu).toBeGreaterThan(0);
  });
  it('scans from the top, so a non-monotonic ITL curve gives the highest qualifying kv', () => {
    const p = profileFromData(
      prefill,
      { x_kv_usage: [0, 0.5, 1], y_context_length: [1000, 1000, 1000], z_itl: [10, 30, 15], z_thpt_per_gpu: [1, 2, 3], max_kv_tokens: 1 },
      'bumpy',
      'test',
    );
    // ITL at 1 is 15 <= 20: kv 1 even though kv 0.5 misses the target
    expect(p.bestDecode(20, 1000).kv).toBe(1);
    // target 12: segment [0.5, 1] goes 30 -> 15 (never <= 12); segment [0, 0.5] crosses 12 at 0.05
    expect(p.bestDecode(12, 1000).kv).toBeCloseTo(0.05, 12);
  });
});

describe('profileFromData validation', () => {
  it('accepts a minimal profile', () => {
    const p = profileFromData(prefill, decode, 'mini', 'test');
    // rows 1000 and 2000 give 15 and 20 at kv 0.5; halfway between the rows: 17.5
    expect(p.decodeItlMs(0.5, 1500).value).toBeCloseTo(17.5, 12);
    expect(p.decodeItlMs(0.5, 1000).value).toBeCloseTo(15, 12);
    expect(p.decodeItlMs(0.5, 2000).value).toBeCloseTo(20, 12);
    // bestDecode at ctx 1500: ITL = 10 + 15 kv, so 16 ms -> kv 0.4; throughput 100 + 650 x 0.4 = 360
    const b = p.bestDecode(16, 1500);
    expect(b.kv).toBeCloseTo(0.4, 12);
    expect(b.thptPerGpu).toBeCloseTo(360, 9);
  });
  it('rejects descending ISL with the documented message', () => {
    const problems = problemsOf(() => profileFromData({ ...prefill, prefill_isl: [200, 100] }, decode, 'x', 'test'));
    expect(problems).toEqual(['spec.profile: prefill_raw_data.json: prefill_isl must be ascending (point 1: 100 after 200)']);
  });
  it('names missing keys and mismatched lengths', () => {
    expect(problemsOf(() => profileFromData({ prefill_isl: [1] }, decode, 'x', 'test'))).toEqual([
      expect.stringMatching(/^spec\.profile: prefill_raw_data\.json: prefill_ttft: /),
      expect.stringMatching(/^spec\.profile: prefill_raw_data\.json: prefill_thpt_per_gpu: /),
    ]);
    expect(problemsOf(() => profileFromData(prefill, { ...decode, z_itl: [1, 2, 3] }, 'x', 'test'))).toEqual([
      'spec.profile: decode_raw_data.json: z_itl has 3 points but x_kv_usage has 4',
    ]);
  });
  it('rejects non-positive values, NaN-free JSON and duplicate points', () => {
    expect(problemsOf(() => profileFromData({ ...prefill, prefill_ttft: [10, 0] }, decode, 'x', 'test'))).toEqual([
      'spec.profile: prefill_raw_data.json: prefill_ttft[1] must be positive, got 0',
    ]);
    expect(problemsOf(() => profileFromData(prefill, { ...decode, y_context_length: [1000, 1000, 1000, 1000] }, 'x', 'test'))[0]).toBe(
      'spec.profile: decode_raw_data.json: point 2 repeats kv 0 at context 1000; each (context, kv) must be measured once',
    );
    expect(problemsOf(() => profileFromData(prefill, { ...decode, max_kv_tokens: -5 }, 'x', 'test'))[0]).toMatch(
      /^spec\.profile: decode_raw_data\.json: max_kv_tokens: /,
    );
  });
});

describe('physically impossible numbers are refused by name', () => {
  it.each([
    ['a throughput of 1e-300', { ...prefill, prefill_thpt_per_gpu: [1e-300, 6666.67] }, decode, 'spec.profile: prefill_raw_data.json: prefill_thpt_per_gpu[0] is 1e-300, outside the physical range 0.01..1000000000 tokens/s per GPU'],
    ['a TTFT of a year', { ...prefill, prefill_ttft: [10, 3.2e10] }, decode, 'spec.profile: prefill_raw_data.json: prefill_ttft[1] is 32000000000, outside the physical range 0.001..3600000 ms'],
    ['an ISL of 1e300 tokens', { ...prefill, prefill_isl: [100, 1e300] }, decode, 'spec.profile: prefill_raw_data.json: prefill_isl[1] is 1e+300, outside the physical range 1..100000000 tokens'],
    ['a TTFT that falls as prompts grow', { ...prefill, prefill_ttft: [30, 10] }, decode, 'spec.profile: prefill_raw_data.json: prefill_ttft[1] is 10 ms at ISL 200, below 30 ms at the shorter ISL 100; TTFT must not fall as prompts get longer'],
    ['a KV usage of 7', prefill, { ...decode, x_kv_usage: [0, 7, 0, 1] }, 'spec.profile: decode_raw_data.json: x_kv_usage[1] is 7, outside the physical range 0..1.5 a fraction of max_kv_tokens'],
    ['an ITL of 1e-300 ms', prefill, { ...decode, z_itl: [1e-300, 25, 15, 25] }, 'spec.profile: decode_raw_data.json: z_itl[0] is 1e-300, outside the physical range 0.001..3600000 ms'],
    ['a decode throughput of 1e300', prefill, { ...decode, z_thpt_per_gpu: [1e300, 2, 3, 4] }, 'spec.profile: decode_raw_data.json: z_thpt_per_gpu[0] is 1e+300, outside the physical range 0.01..1000000000 tokens/s per GPU'],
    ['max_kv_tokens of 1e300', prefill, { ...decode, max_kv_tokens: 1e300 }, 'spec.profile: decode_raw_data.json: max_kv_tokens is 1e+300, outside the physical range 1..1000000000000 tokens'],
  ])('%s', (_name, pre, dec, line) => {
    expect(problemsOf(() => profileFromData(pre, dec, 'x', 'test'))).toEqual([line]);
  });
});

describe('loadProfile', () => {
  const base = mkdtempSync(join(tmpdir(), 'pd-profile-'));
  it('loads a directory relative to baseDir', () => {
    mkdirSync(join(base, 'mine'));
    writeFileSync(join(base, 'mine', 'prefill_raw_data.json'), JSON.stringify(prefill));
    writeFileSync(join(base, 'mine', 'decode_raw_data.json'), JSON.stringify(decode));
    const p = loadProfile('mine', base);
    expect(p.name).toBe('mine');
    expect(p.source).toBe(join(base, 'mine'));
    expect(p.prefillThptPerGpu(150).value).toBeCloseTo(8333.335, 6);
  });
  it('says which directory is missing and what to do', () => {
    expect(problemsOf(() => loadProfile('nope', base))).toEqual([
      `spec.profile: directory ${join(base, 'nope')} not found ("nope" relative to ${base}); give a directory holding prefill_raw_data.json and decode_raw_data.json, or a bundled profile such as builtin:llama2-70b-h100-tp4`,
    ]);
  });
  it('names a missing file', () => {
    mkdirSync(join(base, 'half'));
    writeFileSync(join(base, 'half', 'prefill_raw_data.json'), JSON.stringify(prefill));
    expect(problemsOf(() => loadProfile('half', base))[0]).toBe(
      `spec.profile: ${join(base, 'half', 'decode_raw_data.json')} not found (profile "half"); a profile directory holds prefill_raw_data.json and decode_raw_data.json`,
    );
  });
  it('names invalid JSON', () => {
    mkdirSync(join(base, 'bad'));
    writeFileSync(join(base, 'bad', 'prefill_raw_data.json'), '{ nope');
    writeFileSync(join(base, 'bad', 'decode_raw_data.json'), JSON.stringify(decode));
    expect(problemsOf(() => loadProfile('bad', base))[0]).toMatch(/^spec\.profile: .*bad\/prefill_raw_data\.json is not valid JSON: /);
  });
  it('reads a profile file with a byte cap: a symlink to /dev/zero is refused, not read to exhaustion', () => {
    mkdirSync(join(base, 'zero'));
    symlinkSync('/dev/zero', join(base, 'zero', 'prefill_raw_data.json'));
    writeFileSync(join(base, 'zero', 'decode_raw_data.json'), JSON.stringify(decode));
    expect(problemsOf(() => loadProfile('zero', base))).toEqual([
      `spec.profile: ${join(base, 'zero', 'prefill_raw_data.json')}: more than 16.0 MB; a profile file is a few hundred KB (limit 16.0 MB): is this the right file?`,
    ]);
  });
  it('lists the bundled profiles when a builtin name is unknown', () => {
    expect(problemsOf(() => loadProfile('builtin:h200', base))).toEqual([
      'spec.profile: no bundled profile "h200"; bundled profiles: builtin:dynamo-format-synthetic, builtin:llama2-70b-h100-tp4',
    ]);
    expect(problemsOf(() => loadProfile('builtin:../src', base))[0]).toMatch(/no bundled profile "\.\.\/src"/);
  });
});
