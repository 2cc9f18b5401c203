/**
 * deploy/Dockerfile without a container engine: its stages are read as data,
 * the build stage is held to what `npm run build` actually compiles, and the
 * runtime stage's file layout is assembled on disk and run with the image's
 * ENV, ENTRYPOINT and HEALTHCHECK.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/nats-server.js';
import {
  CONFIG_ENV,
  HOOK_PORT,
  HTTP_PORT,
  HTTP_SERVER_PRESENT,
  ROOT,
  copyParts,
  dockerIgnored,
  dockerfile,
  envPairs,
  eventually,
  execForm,
  httpStatus,
  read,
  run,
  spawnUntil,
  type Proc,
} from './support.js';

const { args, stages } = dockerfile();
const final = stages.at(-1)!;
const build = stages.find((s) => s.name === 'build')!;
const ops = (op: string) => final.instructions.filter((i) => i.op === op);
const ignorePatterns = read('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const pkg = JSON.parse(read('package.json')) as { version: string; dependencies: Record<string, string> };

describe('Dockerfile: stages', () => {
  it('builds with npm ci + npm run build and ships production dependencies only', () => {
    expect(stages.map((s) => s.name ?? '(runtime)')).toEqual(['build', 'deps', '(runtime)']);
    const runs = (name: string) =>
      stages
        .find((s) => s.name === name)!
        .instructions.filter((i) => i.op === 'RUN')
        .map((i) => i.args);
    expect(runs('build')).toEqual([expect.stringMatching(/^npm ci\b/), 'npm run build']);
    expect(runs('deps')[0]).toMatch(/^npm ci --omit=dev\b/);
    expect(ops('RUN')).toEqual([]); // nothing is installed or compiled in the runtime stage
    expect(ops('COPY').find((c) => c.args.includes('node_modules'))?.args).toMatch(/^--from=deps /);
  });

  it('pins every base image by an exact version tag', () => {
    expect(args.get('NODE_IMAGE')).toMatch(/^node:20\.\d+\.\d+-bookworm-slim$/);
    for (const s of stages) expect(s.image).toBe(args.get('NODE_IMAGE'));
    expect(Number(args.get('NODE_IMAGE')?.split(/[:.]/)[1])).toBeGreaterThanOrEqual(20); // package.json engines: node >= 20.10
  });

  it('runs as a numeric non-root user, exposes the hook and HTTP ports, enters `serve`', () => {
    const [user] = ops('USER');
    expect(user?.args).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(ops('EXPOSE').flatMap((e) => e.args.split(/\s+/).map(Number))).toEqual([HOOK_PORT, HTTP_PORT]);
    expect(execForm(ops('ENTRYPOINT')[0]!.args)).toEqual(['node', 'bin/hookwarden.js', 'serve']);
    const env = new Map(ops('ENV').flatMap((e) => envPairs(e.args)));
    expect(env.get('HOOKWARDEN_PORT')).toBe(String(HOOK_PORT));
    expect(env.get('HOOKWARDEN_HTTP_PORT')).toBe(String(HTTP_PORT));
  });

  it('sets only variables hookwarden reads', () => {
    const names = ops('ENV')
      .flatMap((e) => envPairs(e.args))
      .map(([k]) => k)
      .filter((k) => k.startsWith('HOOKWARDEN_'));
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(CONFIG_ENV, n).toContain(n);
    for (const n of read('deploy/healthcheck.mjs').match(/HOOKWARDEN_\w+/g) ?? []) expect(CONFIG_ENV, n).toContain(n);
  });

  it('checks health with node itself, against /healthz', () => {
    const [hc] = ops('HEALTHCHECK');
    expect(execForm(hc!.args)).toEqual(['node', 'deploy/healthcheck.mjs']);
    expect(read('deploy/healthcheck.mjs')).toMatch(/path: '\/healthz'/);
  });
});

describe('Dockerfile: build context', () => {
  const contextSources = stages.flatMap((s) =>
    s.instructions
      .filter((i) => i.op === 'COPY')
      .map((i) => copyParts(i.args))
      .filter((c) => !c.from)
      .flatMap((c) => c.sources),
  );

  it('.dockerignore keeps every file a COPY takes from the context, and drops the heavy ones', () => {
    for (const src of contextSources) expect(dockerIgnored(src, ignorePatterns), src).toBe(false);
    for (const heavy of ['node_modules/nats/package.json', 'dist/src/cli.js', '.git/HEAD', 'docs/OPERATIONS.md', 'test/e2e/feed.test.ts']) {
      expect(dockerIgnored(heavy, ignorePatterns), heavy).toBe(true);
    }
  });

  it('the build stage copies every file `npm run build` compiles', async () => {
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const r = await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--listFilesOnly']);
    expect(r.code).toBe(0);
    const inputs = r.out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.includes('/node_modules/'))
      .map((l) => relative(ROOT, l));
    expect(inputs).toContain('src/cli.ts');
    const copied = build.instructions.filter((i) => i.op === 'COPY').flatMap((i) => copyParts(i.args).sources);
    for (const file of inputs) {
      expect(
        copied.some((c) => file === c || file.startsWith(`${c}/`)),
        `${file} is compiled but not copied into the build stage`,
      ).toBe(true);
      expect(dockerIgnored(file, ignorePatterns), `${file} is compiled but .dockerignore drops it`).toBe(false);
    }
  });

  it('production dependencies cover every package the compiled code imports', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) =>
        statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : f.endsWith('.js') ? [join(dir, f)] : [],
      );
    const shipped = ops('COPY')
      .map((c) => copyParts(c.args))
      .filter((c) => c.from === 'build')
      .flatMap((c) => c.sources.map((s) => join(ROOT, s.replace(/^\/src\//, ''))));
    const imported = new Set<string>();
    for (const f of shipped.flatMap(files)) {
      for (const m of readFileSync(f, 'utf8').matchAll(/(?:from\s+|import\()\s*['"]([^'".][^'"]*)['"]/g)) {
        const spec = m[1]!;
        if (spec.startsWith('node:') || !/^(@[\w.-]+\/)?[\w.-]+(\/[\w.-]+)*$/.test(spec)) continue; // builtins, text that only looks like an import
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    expect(imported).toContain('@grpc/grpc-js');
    for (const name of imported) expect(Object.keys(pkg.dependencies), `${name} is imported at run time`).toContain(name);
  });
});

describe('Dockerfile: the runtime layout, run', () => {
  let app: string;
  const children: Proc[] = [];

  beforeAll(() => {
    // The runtime stage's COPY lines, replayed: build outputs from dist/, the rest from the context.
    app = mkdtempSync(join(tmpdir(), 'hw-image-'));
    for (const c of ops('COPY').map((i) => copyParts(i.args))) {
      for (const src of c.sources) {
        const dest = join(app, c.dest.replace(/^\.\//, ''));
        mkdirSync(dirname(dest), { recursive: true });
        if (c.from === 'deps')
          symlinkSync(join(ROOT, 'node_modules'), dest); // npm ci --omit=dev stand-in
        else if (c.from === 'build') cpSync(join(ROOT, src.replace(/^\/src\//, '')), dest, { recursive: true });
        else cpSync(join(ROOT, src), c.dest.endsWith('/') ? join(dest, src.split('/').at(-1)!) : dest, { recursive: true });
      }
    }
  });
  afterAll(async () => {
    await Promise.all(children.map((c) => c.stop()));
    rmSync(app, { recursive: true, force: true });
  });

  it('`node bin/hookwarden.js --version` prints the package version', async () => {
    const r = await run(process.execPath, ['bin/hookwarden.js', '--version'], { cwd: app });
    expect(r).toEqual({ code: 0, out: `${pkg.version}\n` });
  });

  it('the ENTRYPOINT serves with the image ENV and the deploy policy; HEALTHCHECK follows /healthz', async () => {
    const hookPort = await freePort();
    const httpPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      ...Object.fromEntries(ops('ENV').flatMap((e) => envPairs(e.args))),
      HOOKWARDEN_HOST: '127.0.0.1',
      HOOKWARDEN_PORT: String(hookPort),
      HOOKWARDEN_HTTP_PORT: String(httpPort),
      HOOKWARDEN_HTTP_HOST: '127.0.0.1', // loopback only in tests (the image binds 0.0.0.0)
      HOOKWARDEN_POLICY: join(ROOT, 'deploy/policy/policy.yaml'),
    };
    const [cmd, ...entry] = execForm(ops('ENTRYPOINT')[0]!.args);
    const hw = await spawnUntil(cmd === 'node' ? process.execPath : cmd!, entry, { cwd: app, env, ready: /"msg":"hookwarden listening"/ });
    children.push(hw);
    expect(hw.output()).toContain(`"port":${hookPort}`);
    const [hcCmd, ...hcArgs] = execForm(ops('HEALTHCHECK')[0]!.args);
    const check = () => run(hcCmd === 'node' ? process.execPath : hcCmd!, hcArgs, { cwd: app, env });
    if (!HTTP_SERVER_PRESENT) {
      // No HTTP server in this tree yet: the check must report unhealthy, never pass by accident.
      expect((await check()).code).toBe(1);
      return;
    }
    await eventually(async () => (await httpStatus(httpPort, '/healthz')) === 200, 10_000, '/healthz 200');
    expect(await check()).toMatchObject({ code: 0, out: expect.stringContaining('/healthz → 200') });
    await hw.stop();
    expect(await check()).toMatchObject({ code: 1, out: expect.stringContaining('failed') });
  });
});
