/**
 * The container image without a container runtime: the runtime stage's file layout is rebuilt from the Dockerfile's
 * own COPY lines in a temp dir (context files copied; the `deps` stage's `npm ci --omit=dev` run there; the `build`
 * stage's `npm run build` output copied in), made read-only, and its ENTRYPOINT (minus tini) is run from its WORKDIR
 * as its numeric USER (through setpriv when the test runs as root, as CI does; a non-root developer runs it as
 * themselves, the files read-only all the same), with HOME unwritable and only an emptyDir-like TMPDIR writable:
 * `--help`, `validate` on an example policy (a `builtin:` profile), `run --once` against the fake API server,
 * `simulate` on the bundled default trace, and a two-value `sweep` (worker threads on compiled JavaScript).
 * Also checks the Dockerfile's own promises: pinned base image, multi-stage, production dependencies only, numeric
 * non-root USER, tini, OCI labels, and the image name and version deploy/ uses.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { IMAGE_REPOSITORY } from '../../src/image.js';
import { copies, envOf, execForm, labelsOf, last, readDockerfile, type Stage } from '../fixtures/dockerfile.js';
import { startFakeKubeApi, type FakeKubeApi } from '../fixtures/fake-kube-api/index.js';
import { llamaGraph } from '../fixtures/fake-kube-api/objects.js';
import { dynamoAnswers, freePort, startFakePrometheus, waitFor, type FakePrometheus } from '../fixtures/servers.js';

const sh = promisify(execFile);
const REPO = resolve('.');
const PKG = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string; dependencies: Record<string, string> };
const dockerfile = readDockerfile();
const stage = (name: string): Stage => {
  const found = dockerfile.stages.find((s) => s.name === name);
  if (!found) throw new Error(`the Dockerfile has no stage "${name}"`);
  return found;
};
const runtime = dockerfile.stages.at(-1)!;
const WORKDIR = last(runtime, 'WORKDIR') ?? '/';
const USER = last(runtime, 'USER') ?? '';
const ENTRYPOINT = execForm(runtime, 'ENTRYPOINT') ?? [];
const IS_ROOT = process.getuid?.() === 0;

let root: string;
let app: string;
let writableTmp: string;
let npmCiOutput = '';

/** Copy `sources` (relative to `fromDir`) to `dest` (relative to `workdir`), as COPY does: a directory's contents. */
function copyInto(fromDir: string, sources: string[], dest: string, workdir: string): void {
  const target = resolve(workdir, dest);
  for (const src of sources) {
    const from = join(fromDir, src);
    const to = dest.endsWith('/') && !statSync(from).isDirectory() ? join(target, src.split('/').at(-1)!) : target;
    mkdirSync(dirname(to), { recursive: true });
    cpSync(from, to, { recursive: true });
  }
}

/** COPY --from a stage's directory: the same, moved rather than copied (node_modules is large). */
function moveInto(fromDir: string, sources: string[], dest: string, workdir: string): void {
  for (const src of sources) {
    const from = join(fromDir, src);
    const to = resolve(workdir, dest);
    if (!statSync(from).isDirectory() || existsSync(to)) throw new Error(`COPY --from ${src} ${dest}: expected a directory to a new path`);
    mkdirSync(dirname(to), { recursive: true });
    renameSync(from, to);
  }
}

/** A stage's context COPY lines into `dir` (its WORKDIR). */
function contextCopies(s: Stage, dir: string): void {
  for (const c of copies(s)) {
    if (c.from) throw new Error(`stage ${s.name} copies from ${c.from}: teach this test how`);
    copyInto(REPO, c.sources, c.dest, dir);
  }
}

/** The `build` stage: its context files, the repo's node_modules in place of its `npm ci`, then its other RUN lines. */
async function buildStage(dir: string): Promise<void> {
  const s = stage('build');
  contextCopies(s, dir);
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  for (const run of s.instructions.filter((i) => i.op === 'RUN' && !i.args.startsWith('npm ci'))) await sh('sh', ['-c', run.args], { cwd: dir });
}

/** The `deps` stage: its context files and its RUN lines as written (npm may use its cache instead of the network). */
async function depsStage(dir: string): Promise<void> {
  const s = stage('deps');
  contextCopies(s, dir);
  for (const run of s.instructions.filter((i) => i.op === 'RUN')) {
    const { stdout, stderr } = await sh('sh', ['-c', run.args], { cwd: dir, env: { ...process.env, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' } });
    npmCiOutput += stdout + stderr;
  }
}

/** Every file under `dir` with size and mtime: the read-only check compares two of these. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      out.push(`${relative(dir, p)} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory() && name !== 'node_modules') walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

function chmodTree(dir: string, writable: boolean): void {
  const walk = (p: string) => {
    const st = statSync(p);
    const mode = st.mode & 0o777;
    chmodSync(p, writable ? mode | 0o200 : mode & ~0o222);
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
  };
  walk(dir);
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface ImageProcess {
  child: ChildProcess;
  output: { stdout: string; stderr: string };
  exited: Promise<number | null>;
}

/** The image's ENTRYPOINT after tini, with WORKDIR mapped to the temp dir, as USER, from WORKDIR. */
function startImage(args: string[], extraEnv: Record<string, string> = {}): ImageProcess {
  const [node, script, ...rest] = ENTRYPOINT.slice(ENTRYPOINT.indexOf('--') + 1);
  if (node !== 'node' || !script?.startsWith(WORKDIR)) throw new Error(`unexpected ENTRYPOINT ${JSON.stringify(ENTRYPOINT)}`);
  const argv = [process.execPath, join(app, relative(WORKDIR, script)), ...rest, ...args];
  const [uid, gid = uid] = USER.split(':');
  // setpriv execs node in its own place, so a signal sent to the child reaches node.
  const command = IS_ROOT ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', ...argv] : argv;
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: '/nonexistent',
    TMPDIR: writableTmp,
    KUBERNETES_SERVICE_HOST: '',
    KUBECONFIG: '',
    ...envOf(runtime),
    ...extraEnv,
  };
  const child = spawn(command[0]!, command.slice(1), { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (output.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output.stderr += d.toString()));
  const exited = new Promise<number | null>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolvePromise(code));
  });
  return { child, output, exited };
}

async function runImage(args: string[], timeoutMs = 60_000): Promise<Result> {
  const { child, output, exited } = startImage(args);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await exited.finally(() => clearTimeout(timer));
  return { code, ...output };
}

/** A file the image's user can read: in the temp dir, mode 0644, outside the read-only app. */
function readable(name: string, text: string): string {
  const path = join(root, 'mounts', name);
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  writeFileSync(path, text, { mode: 0o644 });
  return path;
}

const policyText = (promUrl: string) => `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: image }
spec:
  interval: 60s
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  static: { replicas: { prefill-od: 4, decode-od: 3 } }
  pools:
    - { name: prefill-od, role: prefill, gpusPerReplica: 4, minReplicas: 1, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: llama } }
    - { name: decode-od, role: decode, gpusPerReplica: 4, minReplicas: 1, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: llama } }
  sources:
    prometheus: { url: ${promUrl}, labels: { model: llama } }
`;

describe('the Dockerfile', () => {
  it('pins its Node 20 base image by tag and builds in stages: build (tsc), deps (--omit=dev), init (tini), runtime', () => {
    expect(dockerfile.args.NODE_IMAGE).toMatch(/^node:20\.\d+\.\d+-[a-z]+-slim$/);
    expect(dockerfile.stages.map((s) => s.name)).toEqual(['build', 'deps', 'init', undefined]);
    for (const s of dockerfile.stages) expect(s.from, s.name).toBe(dockerfile.args.NODE_IMAGE);
    expect(stage('build').instructions.filter((i) => i.op === 'RUN').map((i) => i.args)).toContain('npm run build');
    expect(stage('deps').instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n')).toMatch(/^npm ci --omit=dev\b/m);
    // The runtime stage installs nothing itself and gets node_modules from deps only, compiled code from build only.
    expect(runtime.instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n')).not.toMatch(/npm (ci|install)|tsx/);
    expect(copies(runtime).filter((c) => c.from).map((c) => `${c.from}:${c.sources.join(',')}`)).toEqual(['init:/usr/bin/tini-static', 'deps:/app/node_modules', 'build:/src/dist']);
    expect(Object.keys(PKG.dependencies)).not.toContain('tsx');
  });

  it('runs as a numeric non-root user, the one deploy/ runs it as, with tini as PID 1 and plain node on dist/', () => {
    expect(USER).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    const deployment = parseAllDocuments(readFileSync('deploy/base/deployment.yaml', 'utf8'))[0]!.toJS() as { spec: { template: { spec: { securityContext: { runAsUser: number; runAsGroup: number } } } } };
    const sc = deployment.spec.template.spec.securityContext;
    expect(USER).toBe(`${sc.runAsUser}:${sc.runAsGroup}`);
    expect(ENTRYPOINT).toEqual(['/usr/bin/tini', '--', 'node', `${WORKDIR}/dist/cli/main.js`]);
  });

  it('names the image deploy/ uses, with the package version, in its header and OCI labels', () => {
    const name = /^#\s+pd-planner container image: (\S+):<package\.json version>/m.exec(dockerfile.header)?.[1];
    expect(name).toBe('ghcr.io/example/pd-planner');
    expect(IMAGE_REPOSITORY).toBe(name); // what `sweep --emit-job` puts in its Job
    const image = `${name}:${PKG.version}`;
    expect(dockerfile.header).toContain(`docker build -t ${image} .`);
    const labels = labelsOf(runtime, dockerfile.args);
    expect(labels).toMatchObject({
      'org.opencontainers.image.title': 'pd-planner',
      'org.opencontainers.image.version': PKG.version,
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'org.opencontainers.image.base.name': `docker.io/library/${dockerfile.args.NODE_IMAGE}`,
    });
    expect(readFileSync('deploy/base/deployment.yaml', 'utf8')).toContain(`image: ${image}`);
    expect(readFileSync('deploy/examples/dgd-with-planner.yaml', 'utf8')).toContain(`image: ${image}`);
    const kustomization = parseAllDocuments(readFileSync('deploy/base/kustomization.yaml', 'utf8'))[0]!.toJS() as { images: { name: string; newName: string; newTag: string }[] };
    expect(kustomization.images).toEqual([{ name, newName: name, newTag: PKG.version }]);
  });

  it('.dockerignore keeps out everything but what the COPY lines name', () => {
    const rules = readFileSync('.dockerignore', 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(rules[0]).toBe('*');
    const allowed = rules.filter((r) => r.startsWith('!')).map((r) => r.slice(1).replace(/\/$/, ''));
    const needed = dockerfile.stages.flatMap((s) => copies(s).filter((c) => !c.from).flatMap((c) => c.sources.map((p) => p.replace(/\/$/, ''))));
    expect([...new Set(needed)].sort()).toEqual([...allowed].sort());
  });
});

describe('the production layout (what the Dockerfile copies, run as its USER from a read-only directory)', () => {
  let api: FakeKubeApi | undefined;
  let prom: FakePrometheus | undefined;
  let before: string[];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'pd-image-'));
    chmodSync(root, 0o755);
    app = join(root, 'app');
    writableTmp = join(root, 'tmp');
    mkdirSync(writableTmp, { mode: 0o1777 });
    chmodSync(writableTmp, 0o1777);
    const buildDir = join(root, 'build');
    const depsDir = join(root, 'deps');
    mkdirSync(buildDir);
    mkdirSync(depsDir);
    // The two slow stages at once, as BuildKit runs them.
    await Promise.all([buildStage(buildDir), depsStage(depsDir)]);
    mkdirSync(app);
    for (const c of copies(runtime)) {
      if (c.from === 'init') continue; // tini: the one file not reproduced here (node runs without it)
      else if (c.from === 'deps') moveInto(depsDir, c.sources.map((p) => relative(last(stage('deps'), 'WORKDIR')!, p)), c.dest, app);
      else if (c.from === 'build') moveInto(buildDir, c.sources.map((p) => relative(last(stage('build'), 'WORKDIR')!, p)), c.dest, app);
      else if (c.from) throw new Error(`the runtime stage copies from ${c.from}: teach this test how`);
      else copyInto(REPO, c.sources, c.dest, app);
    }
    rmSync(buildDir, { recursive: true, force: true });
    rmSync(depsDir, { recursive: true, force: true });
    chmodTree(app, false);
    before = snapshot(app);
  }, 180_000);

  afterAll(async () => {
    await api?.close();
    await prom?.close();
    if (root) {
      if (existsSync(app)) chmodTree(app, true);
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('holds compiled JavaScript, production dependencies only, and the files read at run time; npm ci raised no engine warning', () => {
    const top = readdirSync(app).sort();
    expect(top).toEqual(['dist', 'node_modules', 'package.json', 'profiles', 'traces']);
    expect(existsSync(join(app, 'dist/cli/main.js'))).toBe(true);
    expect(existsSync(join(app, 'dist/sim/sweep-worker.js'))).toBe(true);
    // run's decide thread: plain JavaScript, no tsx boot file.
    expect(existsSync(join(app, 'dist/service/decide/worker.js'))).toBe(true);
    expect(readdirSync(join(app, 'dist'), { recursive: true }).filter((f) => String(f).endsWith('.ts'))).toEqual([]);
    for (const dev of ['tsx', 'typescript', 'vitest', 'eslint', 'esbuild', 'nock', 'fast-check']) expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
    for (const dep of Object.keys(PKG.dependencies)) expect(existsSync(join(app, 'node_modules', dep)), dep).toBe(true);
    expect(npmCiOutput).not.toContain('EBADENGINE');
  });

  it('--help', async () => {
    const { code, stdout, stderr } = await runImage(['--help']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: pd-planner/);
    for (const command of ['validate', 'decide', 'simulate', 'sweep', 'reserve', 'run']) expect(stdout).toContain(command);
  }, 60_000);

  it('validate on an example policy (its builtin: profile comes from the image)', async () => {
    const text = readFileSync('examples/sla.yaml', 'utf8');
    expect(text).toContain('builtin:');
    const { code, stdout, stderr } = await runImage(['validate', readable('sla.yaml', text)]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('sla.yaml: valid PlannerPolicy');
    expect(stdout).toContain('builtin:llama2-70b-h100-tp4 (prefill ISL');
  }, 60_000);

  it('run --once against the fake API server: the patch arrives', async () => {
    api = await startFakeKubeApi({ objects: llamaGraph({ prefill: 2, decode: 3 }) });
    prom = await startFakePrometheus(dynamoAnswers({ requests: 720, isl: 3000, osl: 150, ttftSeconds: 0.42, itlSeconds: 0.031, durationSeconds: 5.1 }));
    const policy = readable('policy.yaml', policyText(prom.url));
    const kubeconfig = readable('kubeconfig', readFileSync(api.kubeconfigPath, 'utf8'));
    const { code, stderr } = await runImage(['run', '--policy', policy, '--once', '--kubeconfig', kubeconfig]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const patches = api.requests.filter((r) => r.method === 'PATCH').map((r) => `${r.path.split('/').slice(-2).join('/')} ${JSON.stringify(r.body)} -> ${r.status}`);
    expect(patches).toEqual(['llama-vllmprefillworker/scale {"spec":{"replicas":4}} -> 200']);
  }, 60_000);

  it('run as a service: SIGTERM reaches node, which releases its Lease and exits 0', async () => {
    api ??= await startFakeKubeApi({ objects: llamaGraph({ prefill: 2, decode: 3 }) });
    prom ??= await startFakePrometheus(dynamoAnswers({ requests: 720, isl: 3000, osl: 150, ttftSeconds: 0.42, itlSeconds: 0.031, durationSeconds: 5.1 }));
    const policy = readable('service.yaml', policyText(prom.url));
    const kubeconfig = readable('kubeconfig', readFileSync(api.kubeconfigPath, 'utf8'));
    const port = await freePort();
    const planner = startImage(['run', '--policy', policy, '--kubeconfig', kubeconfig, '--metrics-port', String(port)], { POD_NAME: 'planner-0' });
    try {
      await waitFor(() => api!.get('coordination.k8s.io/v1', 'Lease', 'default', 'pd-planner-image')?.spec?.holderIdentity === 'planner-0', 30_000, `the Lease (stderr: ${planner.output.stderr})`, 200);
      planner.child.kill('SIGTERM');
      expect(await planner.exited).toBe(0);
    } finally {
      planner.child.kill('SIGKILL');
    }
    expect(api.get('coordination.k8s.io/v1', 'Lease', 'default', 'pd-planner-image')?.spec?.holderIdentity).toBeUndefined();
    expect(planner.output.stderr).toBe('');
  }, 60_000);

  it('simulate on the bundled default trace, writing its report to the writable /tmp only', async () => {
    const out = join(writableTmp, 'report');
    const { code, stdout, stderr } = await runImage(['simulate', '--baselines', 'dynamo', '--speedup', '8', '--out', out]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('AzureLLMInferenceTrace_code');
    expect(readdirSync(out).sort()).toEqual(['report.html', 'report.json', 'report.md']);
  }, 60_000);

  it('sweep over two values in worker threads (the compiled worker)', async () => {
    const out = join(writableTmp, 'sweep');
    const { code, stderr } = await runImage(['sweep', '--param', 'gpu-budget=32,48', '--baselines', 'none', '--speedup', '8', '--threads', '2', '--out', out, '--json']);
    expect(stderr).not.toMatch(/error|cannot/i);
    expect(code).toBe(0);
    expect(readdirSync(out)).toEqual(expect.arrayContaining(['sweep.json', 'sweep.md', 'sweep.html']));
  }, 60_000);

  it('sweep --emit-job names this image (read from the package.json in the image)', async () => {
    const { code, stdout, stderr } = await runImage(['sweep', '--param', 'gpu-budget=32,48', '--emit-job']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`image: ${IMAGE_REPOSITORY}:${PKG.version}\n`);
    expect(stdout).toContain('completionMode: Indexed');
  }, 60_000);

  it('wrote nothing into its own directory', () => {
    expect(snapshot(app)).toEqual(before);
  });
});
