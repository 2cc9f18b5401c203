/**
 * deploy/k8s against the code, the Dockerfile and the compose stack: ports,
 * probes, variables, the policy ConfigMap (checked by the real CLI), the
 * NATS Helm values, and a kustomize build when kubectl is installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/process.js';
import { CONFIG_ENV, HOOK_PORT, HTTP_PORT, NATS_VERSION, ROOT, dockerfile, read, yaml, yamlDocs } from './support.js';

interface Meta {
  readonly name: string;
  readonly labels?: Record<string, string>;
}
interface Probe {
  readonly httpGet: { readonly path: string; readonly port: string | number };
}
interface Container {
  readonly name: string;
  readonly image: string;
  readonly ports: { name: string; containerPort: number }[];
  readonly env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { optional?: boolean } } }[];
  readonly startupProbe: Probe;
  readonly livenessProbe: Probe;
  readonly readinessProbe: Probe;
  readonly resources: { requests: Record<string, string>; limits: Record<string, string> };
  readonly securityContext: { allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean; capabilities: { drop: string[] } };
  readonly volumeMounts: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
}
interface Deployment {
  readonly kind: 'Deployment';
  readonly metadata: Meta;
  readonly spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    strategy: { rollingUpdate: { maxSurge: number; maxUnavailable: number } };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        securityContext: { runAsNonRoot: boolean; runAsUser: number };
        affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: { podAffinityTerm: { topologyKey: string } }[] } };
        containers: Container[];
        volumes: { name: string; configMap?: { name: string } }[];
        terminationGracePeriodSeconds: number;
      };
    };
  };
}
interface Service {
  readonly kind: 'Service';
  readonly metadata: Meta;
  readonly spec: { clusterIP?: string; selector: Record<string, string>; ports: { name: string; port: number; targetPort: string }[] };
}

const deployment = yaml<Deployment>('deploy/k8s/deployment.yaml');
const pod = deployment.spec.template.spec;
const container = pod.containers[0]!;
const services = yamlDocs<Service>('deploy/k8s/service.yaml');
const envValue = (name: string) => container.env.find((e) => e.name === name)?.value;
const finalStage = dockerfile().stages.at(-1)!;
const exposed = finalStage.instructions
  .filter((i) => i.op === 'EXPOSE')
  .flatMap((i) => i.args.split(/\s+/).map(Number))
  .sort();

describe('k8s: Deployment', () => {
  it('three replicas, rolled one at a time with none lost, spread over nodes', () => {
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    const term = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]!.podAffinityTerm;
    expect(term.topologyKey).toBe('kubernetes.io/hostname');
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
  });

  it('container ports are the ports the image exposes', () => {
    expect(container.ports.map((p) => p.containerPort).sort()).toEqual(exposed);
    expect(Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]))).toEqual({ hook: HOOK_PORT, http: HTTP_PORT });
    expect(envValue('HOOKWARDEN_HTTP_PORT')).toBe(String(HTTP_PORT));
  });

  it('probes /healthz (startup, liveness) and /readyz (readiness) on the HTTP port', () => {
    expect(container.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
  });

  it('runs non-root (the image user), read-only, without privileges, with resources set', () => {
    const user = finalStage.instructions.find((i) => i.op === 'USER')!.args.split(':')[0];
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: Number(user) });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources.requests).toHaveProperty('cpu');
    expect(container.resources.requests).toHaveProperty('memory');
    expect(container.resources.limits).toHaveProperty('memory');
    // SIGTERM waits for in-flight calls up to the grace period: the pod must be given longer.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(Number(envValue('HOOKWARDEN_SHUTDOWN_GRACE')?.replace(/s$/, '')) + 5);
  });

  it('sets only variables hookwarden reads; the instance name is the pod name', () => {
    for (const e of container.env) expect(CONFIG_ENV, e.name).toContain(e.name);
    expect(container.env.find((e) => e.name === 'HOOKWARDEN_INSTANCE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(container.env.find((e) => e.name === 'HOOKWARDEN_ADMIN_TOKEN')?.valueFrom?.secretKeyRef?.optional).toBe(true);
  });

  it('mounts the policy ConfigMap as a directory (no subPath), where HOOKWARDEN_POLICY points', () => {
    const policy = envValue('HOOKWARDEN_POLICY')!;
    const mount = container.volumeMounts.find((m) => policy.startsWith(`${m.mountPath}/`))!;
    expect(mount).toMatchObject({ name: 'policy', readOnly: true });
    expect(mount.subPath).toBeUndefined();
    const volume = pod.volumes.find((v) => v.name === mount.name)!;
    const cm = yaml<{ metadata: Meta; data: Record<string, string> }>('deploy/k8s/policy-configmap.yaml');
    expect(volume.configMap?.name).toBe(cm.metadata.name);
    expect(Object.keys(cm.data)).toEqual([policy.slice(mount.mountPath.length + 1)]);
  });

  it('reaches NATS through the Service the Helm values create', () => {
    const values = yaml<{ fullnameOverride: string }>('deploy/k8s/nats-values.yaml');
    expect(envValue('HOOKWARDEN_NATS')).toBe(`nats://${values.fullnameOverride}:4222`);
  });
});

describe('k8s: Services and disruption budget', () => {
  it('the hook Service (what EMQX calls) is ClusterIP with the hook and HTTP ports, h2c on the hook port', () => {
    const svc = services.find((s) => s.metadata.name === 'hookwarden')!;
    expect(svc.spec.clusterIP).toBeUndefined();
    expect(svc.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(svc.spec.ports.map((p) => [p.name, p.port, p.targetPort])).toEqual([
      ['hook', HOOK_PORT, 'hook'],
      ['http', HTTP_PORT, 'http'],
    ]);
    for (const p of svc.spec.ports) expect(container.ports.map((c) => c.name)).toContain(p.targetPort);
    expect(read('deploy/k8s/service.yaml')).toContain('appProtocol: kubernetes.io/h2c');
  });

  it('a headless Service lists the pods for scrapers', () => {
    const svc = services.find((s) => s.spec.clusterIP === 'None')!;
    expect(svc.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(svc.spec.ports.map((p) => p.port)).toEqual([HTTP_PORT]);
  });

  it('the PodDisruptionBudget selects the pods and lets one go at a time', () => {
    const pdb = yaml<{ apiVersion: string; spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } } }>(
      'deploy/k8s/pdb.yaml',
    );
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(pdb.spec.maxUnavailable).toBeLessThan(deployment.spec.replicas - 1);
  });
});

describe('k8s: policy ConfigMap', () => {
  const cm = yaml<{ data: Record<string, string> }>('deploy/k8s/policy-configmap.yaml');
  const text = cm.data['policy.yaml']!;

  it('is the same policy compose mounts', () => {
    expect(text).toBe(read('deploy/policy/policy.yaml'));
  });

  it('passes `hookwarden check-policy`, mounting the hooks the deployment is meant for', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hw-k8s-policy-'));
    try {
      const file = join(dir, 'policy.yaml');
      writeFileSync(file, text);
      const r = await runCli(['check-policy', file]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      // authenticate stays with EMQX: an IGNORE there would deny anonymous clients on EMQX <= 5.8
      expect(r.stdout).toMatch(/valued hooks needed: client\.authorize, message\.publish\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('k8s: NATS Helm values', () => {
  const values = yaml<{
    config: {
      cluster: { enabled: boolean; replicas: number };
      jetstream: { enabled: boolean; fileStore: { enabled: boolean; pvc: { enabled: boolean } } };
    };
    container: { image: { repository: string; tag: string } };
  }>('deploy/k8s/nats-values.yaml');

  it(`three clustered servers, JetStream on file storage, image ${NATS_VERSION}`, () => {
    expect(values.config.cluster).toMatchObject({ enabled: true, replicas: 3 });
    expect(values.config.jetstream).toMatchObject({ enabled: true, fileStore: { enabled: true, pvc: { enabled: true } } });
    expect(values.container.image).toEqual({ repository: 'nats', tag: `${NATS_VERSION}-alpine` });
  });
});

describe('k8s: kustomization', () => {
  const k = yaml<{ namespace: string; resources: string[]; images: { name: string; newTag: string }[] }>('deploy/k8s/kustomization.yaml');

  it('lists every manifest of the folder but the Helm values, and names the image the Deployment uses', () => {
    for (const r of k.resources) expect(existsSync(join(ROOT, 'deploy/k8s', r)), r).toBe(true);
    expect([...k.resources].sort()).toEqual(['deployment.yaml', 'namespace.yaml', 'pdb.yaml', 'policy-configmap.yaml', 'service.yaml']);
    expect(k.images.map((i) => i.name)).toEqual([container.image]);
    expect(k.images[0]?.newTag).toBe((JSON.parse(read('package.json')) as { version: string }).version);
  });

  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  it.runIf(kubectl.status === 0)('builds with kustomize into the namespace, with the image set', () => {
    const r = spawnSync('kubectl', ['kustomize', join(ROOT, 'deploy/k8s')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } });
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
      'ConfigMap/hookwarden-policy',
      'Deployment/hookwarden',
      'Namespace/hookwarden',
      'PodDisruptionBudget/hookwarden',
      'Service/hookwarden',
      'Service/hookwarden-pods',
    ]);
    for (const d of docs) if (d.kind !== 'Namespace') expect(d.metadata.namespace).toBe(k.namespace);
    expect(r.stdout).toContain(`image: registry.example.com/hookwarden:${k.images[0]?.newTag}`);
  });
});
