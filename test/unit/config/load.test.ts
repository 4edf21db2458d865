import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadPolicyFile } from '../../../src/config/load.js';
import { InputError } from '../../../src/errors.js';
import { basePolicy, load, problems, withSpec, type Data } from './policy-helpers.js';

describe('a valid policy', () => {
  it('parses with every default filled in and durations in seconds', () => {
    const { spec, warnings } = load(basePolicy());
    expect(warnings).toEqual([]);
    expect(spec.interval).toBe(60);
    expect(spec.policy).toBe('sla');
    expect(spec.profile).toBe('builtin:llama2-70b-h100-tp4');
    expect(spec.stabilization).toEqual({ scaleDown: 300, scaleUp: 0 });
    expect(spec.pools[0]).toMatchObject({ capacity: 'on-demand', costPerGpuHour: 0, startupSeconds: 180 });
    expect(spec.spot).toMatchObject({ maxShare: 0.7, onDemandFloor: 1, noticeSeconds: 30, evictionCooldown: 600 });
  });

  it('defaults every sla improvement on, whatever the environment says', async () => {
    // A default read from the environment would make a policy mean one thing here and another on the next machine.
    vi.stubEnv('XCH', '0');
    vi.resetModules();
    try {
      const { policySpec } = await import('../../../src/config/schema.js');
      const spec = policySpec.parse({ slo: { ttft: { ms: 500 }, itl: { ms: 50 } }, pools: [{ name: 'p', role: 'prefill' }, { name: 'd', role: 'decode' }] });
      expect(spec.sla.improvements.crowdHold).toBe(true);
      expect(Object.values(spec.sla.improvements).every((on) => on === true)).toBe(true);
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });

  it('loads the bundled profile and keeps it on the result', () => {
    const loaded = load(basePolicy(), true);
    expect(loaded.profile?.maxKvTokens).toBe(450000);
    expect(loaded.profile?.source).toBe('builtin:llama2-70b-h100-tp4');
  });

  it('reads a file and resolves relative paths against its folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-policy-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(file, 'apiVersion: pd-planner/v1\nkind: PlannerPolicy\nmetadata: { name: x }\nspec:\n  slo: { ttft: { ms: 500 }, itl: { ms: 50 } }\n  pools: [{ name: p, role: prefill }, { name: d, role: decode }]\n');
    const loaded = loadPolicyFile(file, { checkProfile: false });
    expect(loaded.baseDir).toBe(dir);
    expect(loaded.spec.pools.map((p) => p.name)).toEqual(['p', 'd']);
  });
});

describe('schema problems: one "path: message" line each', () => {
  it.each([
    ['a bare-number interval', (s: Data) => (s.interval = 60), 'spec.interval: expected an interval with a unit such as "60s" or "60m", got the bare number 60'],
    ['an interval with a wrong unit', (s: Data) => (s.interval = '60 seconds'), 'spec.interval: expected an interval such as "60s", "5m" or "1h30m", got "60 seconds"'],
    ['a boolean duration', (s: Data) => (s.stabilization = { scaleDown: true }), 'spec.stabilization.scaleDown: expected a window such as "60s", "5m" or "1h30m", got boolean'],
    ['an unknown pool field', (s: Data) => (s.pools[0].colour = 'red'), 'spec.pools[0].colour: unknown field (allowed: name, role, capacity, gpusPerReplica, minReplicas, maxReplicas, costPerGpuHour, startupSeconds, target)'],
    ['a misspelt spec field', (s: Data) => (s.forcaster = { kind: 'holt' }), 'spec.forcaster: unknown field; did you mean "forecaster"? (allowed: interval, slo, policy, sla, load, hpa, static, forecaster, profile, budget, limits, stabilization, spot, pools, schedules, scaleToZero, sources, failureThreshold, readinessTimeout)'],
    ['an unknown policy', (s: Data) => (s.policy = 'slaa'), 'spec.policy: expected one of sla, dynamo, load, hpa, static, got "slaa"; did you mean "sla"?'],
    ['an unknown role', (s: Data) => (s.pools[0].role = 'prefil'), 'spec.pools[0].role: expected one of prefill, decode, got "prefil"; did you mean "prefill"?'],
    ['a negative SLO', (s: Data) => (s.slo.itl.ms = -5), 'spec.slo.itl.ms: expected a number > 0, got -5'],
    ['an ITL target no request can miss', (s: Data) => (s.slo.itl.ms = 1e300), 'spec.slo.itl.ms: at most 60000 ms (a minute per token); a longer target is never missed'],
    ['a missing SLO target', (s: Data) => delete s.slo.ttft.ms, 'spec.slo.ttft.ms: required field is missing (expected a number)'],
    // Unbounded, it summed to an infinite cost: "$Infinity/h" in validate, a blank cost in every report.
    ['a cost per GPU-hour no GPU has', (s: Data) => (s.pools[0].costPerGpuHour = 1e308), 'spec.pools[0].costPerGpuHour: expected a number ≤ 1000000, got 1e+308'],
    ['a fractional GPU count', (s: Data) => (s.pools[1].gpusPerReplica = 1.5), 'spec.pools[1].gpusPerReplica: expected a whole number, got 1.5'],
    ['a string where a number goes', (s: Data) => (s.pools[1].maxReplicas = 'ten'), 'spec.pools[1].maxReplicas: expected a number, got "ten"'],
    ['a Spot share above 1', (s: Data) => (s.spot = { maxShare: 1.5 }), 'spec.spot.maxShare: expected a number ≤ 1, got 1.5'],
    ['an unknown target kind', (s: Data) => (s.pools[0].target = { kind: 'Deployment', name: 'x' }), 'spec.pools[0].target.kind: expected one of DynamoGraphDeployment, DynamoComponentDeployment, got "Deployment"'],
    ['a service on a component deployment', (s: Data) => (s.pools[0].target = { kind: 'DynamoComponentDeployment', name: 'x', service: 'y' }), 'spec.pools[0].target.service: unknown field (allowed: kind, name, namespace)'],
    ['a pool name that is not a DNS label', (s: Data) => (s.pools[0].name = 'Prefill_OD'), 'spec.pools[0].name: use lower-case letters, digits and "-" (a DNS label)'],
    ['no pools', (s: Data) => (s.pools = []), 'spec.pools: at least one pool is needed'],
    ['a Prometheus URL without scheme', (s: Data) => (s.sources = { prometheus: { url: 'prometheus:9090' } }), 'spec.sources.prometheus.url: expected an http(s) URL such as "http://prometheus:9090", got "prometheus:9090"'],
    ['a NATS URL with the wrong scheme', (s: Data) => (s.sources = { queue: { nats: 'http://nats:4222', stream: 'prefill' } }), 'spec.sources.queue.nats: expected a nats:// URL such as "nats://nats:4222", got "http://nats:4222"'],
    ['an empty stream name', (s: Data) => (s.sources = { queue: { nats: 'nats://nats:4222', stream: '' } }), 'spec.sources.queue.stream: must not be empty'],
  ])('%s', (_name, edit, line) => {
    expect(problems(withSpec(edit))).toEqual([line]);
  });

  it('a name the service cannot give its Lease is refused by validate, not by the API server at the first tick', () => {
    const named = (edit: (m: Data) => void) => {
      const policy = basePolicy();
      edit(policy.metadata as Data);
      return problems(policy);
    };
    const objectName = 'metadata.name: use lower-case letters, digits, "-" and ".", starting and ending with a letter or digit (a Kubernetes object name: it names the Lease pd-planner-<name>)';
    expect(named((m) => (m.name = 'Llama 70B'))).toEqual([objectName]);
    expect(named((m) => (m.name = 'llama-70b\nx'))).toEqual([objectName]);
    expect(named((m) => (m.name = 'a'.repeat(237)))).toEqual(['metadata.name: at most 236 characters (it names the Lease pd-planner-fleet-<name>, at most 253)']);
    expect(named((m) => (m.namespace = 'Prod'))).toEqual(['metadata.namespace: use lower-case letters, digits and "-" (a Kubernetes namespace)']);
    expect(named((m) => (m.name = 'llama-70b.disagg'))).toEqual([]);
    expect(named((m) => (m.name = 'a'.repeat(236)))).toEqual([]);
  });

  it('reports every problem at once, one line per unknown key', () => {
    const lines = problems(
      withSpec((s) => {
        s.interval = 60;
        s.pools[0].colour = 'red';
        s.pools[0].size = 3;
        s.policy = 'nope';
      }),
    );
    expect(lines).toHaveLength(4);
    expect(lines).toContain('spec.pools[0].size: unknown field (allowed: name, role, capacity, gpusPerReplica, minReplicas, maxReplicas, costPerGpuHour, startupSeconds, target)');
  });

  it('names unknown top-level keys and a wrong apiVersion', () => {
    const policy = basePolicy();
    policy.apiVersion = 'pd-planner/v2';
    policy.specs = {};
    expect(problems(policy)).toEqual([
      'apiVersion: expected "pd-planner/v1", got "pd-planner/v2"',
      'specs: unknown field; did you mean "spec"? (allowed: apiVersion, kind, metadata, spec)',
    ]);
  });
});

describe('cross-field problems', () => {
  it('max below min', () => {
    expect(problems(withSpec((s) => Object.assign(s.pools[1], { minReplicas: 3, maxReplicas: 2 })))).toEqual([
      'spec.pools[1].maxReplicas: 2 is below minReplicas 3',
    ]);
  });

  it('duplicate pool names', () => {
    expect(problems(withSpec((s) => (s.pools[2].name = 'decode-spot')))).toEqual([
      'spec.pools[2].name: duplicate pool name "decode-spot" (also spec.pools[1])',
    ]);
  });

  it('two pools scaling the same target', () => {
    const lines = problems(
      withSpec((s) => {
        s.pools[1].target = { kind: 'DynamoGraphDeployment', name: 'g', service: 'decode' };
        s.pools[2].target = { kind: 'DynamoGraphDeployment', name: 'g', service: 'decode' };
      }),
    );
    expect(lines).toEqual([
      "spec.pools[2].target: same target as spec.pools[1] (DynamoGraphDeployment (planner namespace)/g decode); two pools would overwrite each other's replica count",
    ]);
  });

  it('a GPU budget below what the minimums need, with the breakdown', () => {
    const lines = problems(
      withSpec((s) => {
        s.budget.maxGpus = 8;
        s.pools[0].minReplicas = 2;
      }),
    );
    expect(lines).toEqual(["spec.budget.maxGpus: 8 GPUs is below the 12 the pools' minReplicas need (prefill-od 2x4, decode-od 1x4)"]);
  });

  it('a cost ceiling below what the minimums cost', () => {
    const lines = problems(
      withSpec((s) => {
        s.budget.maxCostPerHour = 50;
        s.pools[0].costPerGpuHour = 6.98;
        s.pools[2].costPerGpuHour = 6.98;
      }),
    );
    // 1 x 4 x 6.98 + 1 x 4 x 6.98 = 55.84 $/h
    expect(lines).toEqual(["spec.budget.maxCostPerHour: 50/h is below the 55.84/h the pools' minReplicas cost (prefill-od 1x4, decode-od 1x4)"]);
  });

  it('a role with no pool is an error for sizing policies and a warning for static', () => {
    const noDecode = withSpec((s) => s.pools.splice(1, 2));
    expect(problems(noDecode)).toEqual(['spec.pools: no pool has role decode; add one (prefill and decode are sized together)']);
    noDecode.spec.policy = 'static';
    expect(load(noDecode).warnings).toEqual(['spec.pools: no pool has role decode; that role is not managed']);
  });

  it('Spot pools with maxShare 0', () => {
    expect(problems(withSpec((s) => (s.spot = { maxShare: 0 })))).toEqual([
      'spec.spot.maxShare: 0 allows no Spot replicas, but "decode-spot" is a Spot pool; raise maxShare or remove the Spot pools',
    ]);
  });

  it('an on-demand floor the on-demand pools cannot hold', () => {
    // A role on Spot alone is a choice (test/fixtures/example-policy-plain-seconds.yaml makes it): a warning, not an error.
    const spotOnly = withSpec((s) => s.pools.splice(2, 1));
    expect(problems(spotOnly)).toEqual([]);
    expect(load(spotOnly).warnings).toEqual([
      'spec.spot.onDemandFloor: 1 on-demand decode replica asked for, but role decode has only Spot pools (decode-spot), so every decode replica runs on Spot; add an on-demand decode pool, or set onDemandFloor: 0 to silence this',
    ]);
    expect(problems(withSpec((s) => (s.spot = { onDemandFloor: 5 })))).toEqual([
      'spec.spot.onDemandFloor: 5 on-demand decode replicas required, but the on-demand decode pools allow at most 4 (decode-od max 4)',
    ]);
  });

  describe('schedules', () => {
    const schedule = (extra: object) => withSpec((s) => (s.schedules = [{ cron: '0 8 * * 1-5', duration: '10h', minReplicas: { 'prefill-od': 2 }, ...extra }]));

    it('accept a valid business-hours schedule', () => {
      expect(load(schedule({})).spec.schedules[0]).toEqual({ cron: '0 8 * * 1-5', duration: 36000, timezone: 'UTC', minReplicas: { 'prefill-od': 2 } });
    });

    it('name unknown pools, with the pools that exist', () => {
      expect(problems(schedule({ minReplicas: { prefil: 2 } }))).toEqual([
        'spec.schedules[0].minReplicas.prefil: no pool named "prefil" (pools: prefill-od, decode-spot, decode-od)',
      ]);
      expect(problems(schedule({ minReplicas: { 'prefil-od': 2 } }))).toEqual([
        'spec.schedules[0].minReplicas.prefil-od: no pool named "prefil-od"; did you mean "prefill-od"? (pools: prefill-od, decode-spot, decode-od)',
      ]);
    });

    it('reject invalid cron expressions (node-cron validate)', () => {
      expect(problems(schedule({ cron: '0 25 * * *' }))).toEqual([
        'spec.schedules[0].cron: invalid cron expression "0 25 * * *" (expected 5 fields "minute hour day-of-month month day-of-week", or 6 with seconds first, e.g. "0 8 * * 1-5")',
      ]);
    });

    it('reject a raised minimum above the pool maximum', () => {
      expect(problems(schedule({ minReplicas: { 'prefill-od': 9 } }))).toEqual([
        "spec.schedules[0].minReplicas.prefill-od: 9 is above the pool's maxReplicas 8 (spec.pools[0])",
      ]);
    });

    it('reject raised minimums the budget cannot hold', () => {
      const policy = schedule({ minReplicas: { 'prefill-od': 8, 'decode-od': 4 } });
      policy.spec.budget.maxGpus = 40;
      // 8 x 4 + 4 x 4 = 48 GPUs > 40
      expect(problems(policy)).toEqual([
        "spec.schedules[0].minReplicas: while active, the pools' minReplicas need 48 GPUs, above spec.budget.maxGpus 40 (prefill-od 8x4, decode-od 4x4)",
      ]);
    });

    it('reject unknown time zones, zero durations and missing durations', () => {
      expect(problems(schedule({ timezone: 'Europe/Amsterdm' }))).toEqual([
        'spec.schedules[0].timezone: unknown time zone "Europe/Amsterdm" (use an IANA name such as "Europe/Amsterdam" or "UTC")',
      ]);
      expect(problems(schedule({ duration: '0s' }))).toEqual(['spec.schedules[0].duration: must be longer than 0s']);
      expect(problems(schedule({ duration: undefined }))).toEqual(['spec.schedules[0].duration: a schedule duration is required, e.g. "60s"']);
    });
  });

  it('load thresholds without hysteresis', () => {
    expect(problems(withSpec((s) => (s.load = { decodeKvUsage: { up: 0.5, down: 0.6 }, prefillQueuePerReplica: { up: 2, down: 2 } })))).toEqual([
      'spec.load.prefillQueuePerReplica.down: 2 is not below up 2 (the gap is the hysteresis)',
      'spec.load.decodeKvUsage.down: 0.6 is not below up 0.5 (the gap is the hysteresis)',
    ]);
  });

  it('static replicas naming unknown pools or outside the pool range', () => {
    expect(problems(withSpec((s) => (s.static = { replicas: { 'decod-od': 3, 'prefill-od': 9 } })))).toEqual([
      'spec.static.replicas.decod-od: no pool named "decod-od"; did you mean "decode-od"? (pools: prefill-od, decode-spot, decode-od)',
      "spec.static.replicas.prefill-od: 9 is outside the pool's range 1..8 (spec.pools[0])",
    ]);
  });

  it('a zero interval, and a seasonal forecaster with a season shorter than two intervals', () => {
    expect(problems(withSpec((s) => (s.interval = '0s')))).toEqual(['spec.interval: 0s is shorter than 100ms, the shortest interval; use e.g. "60s"']);
    expect(problems(withSpec((s) => (s.forecaster = { kind: 'seasonal', season: '90s' })))).toEqual([
      'spec.forecaster.season: 1m30s is shorter than two intervals (2m); a season needs at least two points',
    ]);
  });

  it('a NATS URL without a host', () => {
    expect(problems(withSpec((s) => (s.sources = { virtual: { nats: 'nats://' } })))).toEqual([
      'spec.sources.virtual.nats: expected a nats:// URL with a host such as "nats://nats:4222", got "nats://"',
    ]);
  });

  it('a profile directory that does not exist', () => {
    const lines = problems(withSpec((s) => (s.profile = './no-such-profile')), true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^spec\.profile: directory \/nonexistent\/no-such-profile not found/);
  });

  it('an unknown bundled profile', () => {
    const lines = problems(withSpec((s) => (s.profile = 'builtin:llama3')), true);
    expect(lines).toEqual([expect.stringMatching(/^spec\.profile: no bundled profile "llama3"; bundled profiles: .*builtin:llama2-70b-h100-tp4/)]);
  });
});

describe('warnings (valid, but probably not meant)', () => {
  it('an SLO faster than the engine can ever be', () => {
    const loaded = load(withSpec((s) => (s.slo.itl.ms = 20)), true);
    expect(loaded.warnings).toEqual([
      "spec.slo.itl.ms: 20 ms is below the profile's fastest decode step (28.73 ms); ITL cannot meet it",
    ]);
  });

  it('a pool that can never run', () => {
    expect(load(withSpec((s) => Object.assign(s.pools[1], { maxReplicas: 0 }))).warnings).toEqual([
      'spec.pools[1].maxReplicas: 0 means pool "decode-spot" never runs a replica',
    ]);
  });
});

describe('YAML and file problems', () => {
  it('gives file:line:col for syntax errors', () => {
    expect(problems('apiVersion: pd-planner/v1\nkind: PlannerPolicy\nkind: Other\n')).toEqual(['policy.yaml:3:1: Map keys must be unique']);
    expect(problems('spec:\n  pools: [a, b\n  x: 1\n')[0]).toMatch(/^policy\.yaml:\d+:\d+: /);
  });

  it('rejects an empty file, a list and several documents', () => {
    expect(problems('')).toEqual(['policy.yaml: the file is empty; expected a PlannerPolicy (see examples/)']);
    expect(problems('- a\n- b\n')).toEqual(['policy.yaml: expected a mapping with apiVersion, kind, metadata and spec at the top level']);
    expect(problems('a: 1\n---\nb: 2\n')).toEqual([
      'policy.yaml:2:1: the file holds more than one YAML document ("---"); put one PlannerPolicy in each file',
    ]);
  });

  it('a missing file is an input error naming the path', () => {
    expect(() => loadPolicyFile('/nonexistent/policy.yaml')).toThrow(InputError);
    try {
      loadPolicyFile('/nonexistent/policy.yaml');
    } catch (error) {
      expect((error as InputError).problems).toEqual(['/nonexistent/policy.yaml: cannot read: no such file']);
    }
  });
});

describe('durations: bounded, and plain seconds in `…Seconds` fields', () => {
  it('takes a plain number of seconds in startupSeconds and noticeSeconds, and a duration string still', () => {
    const spec = load(
      withSpec((s) => {
        s.pools[0].startupSeconds = 240;
        s.pools[1].startupSeconds = '4m';
        s.pools[2].startupSeconds = '240';
        s.spot = { noticeSeconds: 30 };
      }),
    ).spec;
    expect(spec.pools.map((p) => p.startupSeconds)).toEqual([240, 240, 240]);
    expect(spec.spot.noticeSeconds).toBe(30);
  });

  it('still refuses a bare number where the field name gives no unit', () => {
    expect(problems(withSpec((s) => (s.spot = { pendingGrace: 120 })))).toEqual([
      'spec.spot.pendingGrace: expected a grace period with a unit such as "120s" or "120m", got the bare number 120',
    ]);
  });

  it('refuses negative or infinite plain seconds, naming the field', () => {
    expect(problems(withSpec((s) => (s.pools[0].startupSeconds = -5)))).toEqual([
      'spec.pools[0].startupSeconds: expected a startup time in seconds (a number ≥ 0) or with a unit such as "240s", got -5',
    ]);
  });

  it.each([
    ['interval', (s: Data) => (s.interval = '25d'), 'spec.interval: "25d" is longer than 1d, the most allowed for an interval (timers hold at most a day here)'],
    ['a Prometheus timeout', (s: Data) => (s.sources = { prometheus: { url: 'http://p:9090', timeout: '25d' } }), 'spec.sources.prometheus.timeout: "25d" is longer than 1d, the most allowed for a timeout (timers hold at most a day here)'],
    ['startupSeconds as a number', (s: Data) => (s.pools[0].startupSeconds = 86401), 'spec.pools[0].startupSeconds: 86401 is longer than 1d, the most allowed for a startup time (timers hold at most a day here)'],
    ['a schedule over a year', (s: Data) => (s.schedules = [{ cron: '0 8 * * 1-5', duration: '99999999999d', minReplicas: { 'prefill-od': 2 } }]), 'spec.schedules[0].duration: "99999999999d" is longer than 366d, the most allowed for a schedule duration'],
    ['a season over a week', (s: Data) => (s.forecaster = { kind: 'seasonal', season: '8d' }), 'spec.forecaster.season: "8d" is longer than 7d, the most allowed for a season length'],
  ])('refuses %s beyond its ceiling', (_name, edit, line) => {
    expect(problems(withSpec(edit))).toEqual([line]);
  });

  it('refuses an interval of 320 nines without printing Infinity', () => {
    const lines = problems(withSpec((s) => (s.interval = `${'9'.repeat(320)}s`)));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^spec\.interval: "9+\.\.\." is longer than 1d/);
    expect(lines[0]).not.toContain('Infinity');
  });

  it('refuses an interval under 100 ms, and a season of too many intervals', () => {
    expect(problems(withSpec((s) => (s.interval = '1ms')))).toEqual(['spec.interval: 1ms is shorter than 100ms, the shortest interval; use e.g. "60s"']);
    expect(problems(withSpec((s) => {
      s.interval = '10s';
      s.forecaster = { kind: 'seasonal', season: '7d' };
    }))).toEqual([
      'spec.forecaster.season: 7d is 60480 intervals of 10s; at most 10080 (the history kept grows with it): use a longer interval or a shorter season',
    ]);
  });
});

describe('physical ceilings on counts', () => {
  it.each([
    ['maxReplicas', (s: Data) => (s.pools[0].maxReplicas = 20000), 'spec.pools[0].maxReplicas: expected a number ≤ 10000, got 20000'],
    ['gpusPerReplica', (s: Data) => (s.pools[0].gpusPerReplica = 4096), 'spec.pools[0].gpusPerReplica: expected a number ≤ 1024, got 4096'],
    ['the eviction rate', (s: Data) => (s.spot = { evictionRatePerHour: 1e300 }), 'spec.spot.evictionRatePerHour: expected a number ≤ 60, got 1e+300'],
    ['a moving-average window', (s: Data) => (s.forecaster = { kind: 'moving-average', window: 1e9 }), 'spec.forecaster.window: expected a number ≤ 10080, got 1000000000'],
  ])('%s', (_name, edit, line) => {
    expect(problems(withSpec(edit))).toEqual([line]);
  });
});

describe('the number of pools', () => {
  it('is at most 64 per policy', () => {
    const many = withSpec((s) => {
      s.budget = {};
      s.pools = Array.from({ length: 65 }, (_, i) => ({ name: `p${i}`, role: i % 2 === 0 ? 'prefill' : 'decode' }));
    });
    expect(problems(many)).toEqual(["spec.pools: at most 64 pools per policy; split the model's pools over several policies"]);
  });
});
