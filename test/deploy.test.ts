import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DaemonSet, Deployment, type IDaemonSet, type IDeployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy, type INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ConfigMap,
  Namespace,
  Secret,
  Service,
  ServiceAccount,
  type IConfigMap,
  type INamespace,
  type ISecret,
  type IService,
  type IServiceAccount,
} from 'kubernetes-models/v1';
import { EnvSchema } from '../src/config/env.ts';
import { POLICY_SEGMENTS } from '../src/policies/schema.ts';

const dir = 'deploy/k8s';
// biome-ignore lint/suspicious/noExplicitAny: parsed Kubernetes YAML, read field by field in assertions
type Doc = { kind: string; metadata: { name: string }; spec?: any; files?: string[] };
const read = (f: string) => parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as Doc);
const kustomization = read('kustomization.yaml')[0] as unknown as {
  resources: string[];
  configMapGenerator: { name: string; files?: string[]; literals?: string[] }[];
  secretGenerator: { name: string; literals: string[] }[];
};
const manifests = kustomization.resources.flatMap(read);
const deployment = manifests.find((m) => m.kind === 'Deployment')!;
const container = deployment.spec.template.spec.containers[0];

describe('the Kubernetes manifests', () => {
  it('list only files that exist, and parse', () => {
    for (const r of kustomization.resources) expect(fs.existsSync(path.join(dir, r)), r).toBe(true);
    expect(manifests.map((m) => m.kind).sort()).toEqual([
      'DaemonSet',
      'Deployment',
      'Namespace',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Service',
      'Service',
      'ServiceAccount',
    ]);
  });

  it('set only variables the service reads', () => {
    const known = new Set(Object.keys(EnvSchema.shape));
    const literals = [
      ...kustomization.configMapGenerator.flatMap((g) => g.literals ?? []),
      ...kustomization.secretGenerator.flatMap((g) => g.literals),
    ].map((l) => l.split('=')[0]!);
    const env = (container.env as { name: string }[]).map((e) => e.name).filter((n) => n !== 'TZ');
    for (const name of [...literals, ...env]) expect(known.has(name), name).toBe(true);
    // Secrets are not in the config map.
    const config = kustomization.configMapGenerator.find((g) => g.name === 'hks-aiops-config')!.literals!.join('\n');
    expect(config).not.toMatch(/PASSWORD|SECRET|POSTGRES_URL|TOKEN/);
  });

  it('use the policies the image carries, read no file outside the kustomization, and mount no policy ConfigMap', () => {
    // kustomize refuses files outside the kustomization's folder; the image already holds policies/
    // from the same commit as the code that validates them (Dockerfile: WORKDIR, COPY policies).
    const dockerfile = fs.readFileSync('Dockerfile', 'utf8');
    const workdir = /^WORKDIR\s+(\S+)/m.exec(dockerfile)?.[1];
    expect(dockerfile).toMatch(/^COPY policies \.\/policies$/m);
    const env = Object.fromEntries((container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
    expect(env.AIOPS_POLICIES_DIR).toBe(path.posix.join(workdir ?? '', 'policies'));
    const files = [...kustomization.configMapGenerator, ...kustomization.secretGenerator].flatMap((g) =>
      'files' in g ? (g.files ?? []) : [],
    );
    for (const f of files) expect(path.resolve(dir, f).startsWith(`${path.resolve(dir)}${path.sep}`), f).toBe(true);
    expect(kustomization.configMapGenerator.map((g) => g.name)).not.toContain('hks-aiops-policies');
    // ...and policies/ holds every segment the service validates.
    expect(
      fs
        .readdirSync('policies')
        .map((f) => path.basename(f, '.yaml'))
        .sort(),
    ).toEqual(Object.keys(POLICY_SEGMENTS).sort());
  });

  it('probe /readyz and /healthz, and run unprivileged with a read-only root', () => {
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(deployment.spec.template.spec.automountServiceAccountToken).toBe(false);
    const mounts = (container.volumeMounts as { mountPath: string }[]).map((m) => m.mountPath);
    const env = Object.fromEntries((container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
    expect(mounts).toEqual(expect.arrayContaining([env.AIOPS_DATA_DIR, '/tmp']));
    expect(container.resources.limits.memory).toBeDefined();
  });
});

// `kubectl kustomize` is what `kubectl apply -k` builds. CI (.ci/run) installs kubectl when the machine
// has none, and sets AIOPS_REQUIRE_KUBECTL=1 so that a missing one fails instead of skipping.
// AIOPS_KUBECTL picks another binary (e.g. the kubectl 1.20 of Debian's kubernetes-client, kustomize v2.0).
const kubectl = process.env.AIOPS_KUBECTL ?? 'kubectl';
const requireKubectl = process.env.AIOPS_REQUIRE_KUBECTL === '1';

type Built = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

/** The schema class of each kind the kustomization builds; a kind without one fails the test. */
const MODELS: Record<string, (o: Built) => { validate(): void }> = {
  'v1/Namespace': (o) => new Namespace(o as INamespace),
  'v1/ServiceAccount': (o) => new ServiceAccount(o as IServiceAccount),
  'v1/ConfigMap': (o) => new ConfigMap(o as IConfigMap),
  'v1/Secret': (o) => new Secret(o as ISecret),
  'v1/Service': (o) => new Service(o as IService),
  'apps/v1/Deployment': (o) => new Deployment(o as IDeployment),
  'apps/v1/DaemonSet': (o) => new DaemonSet(o as IDaemonSet),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o as IPodDisruptionBudget),
  'networking.k8s.io/v1/NetworkPolicy': (o) => new NetworkPolicy(o as INetworkPolicy),
};

describe('the kustomization, built by kubectl', () => {
  it('builds, and every object validates against the Kubernetes schemas', (ctx) => {
    const run = spawnSync(kubectl, ['kustomize', dir], { encoding: 'utf8', timeout: 120_000 });
    if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') {
      if (requireKubectl) throw new Error(`${kubectl} is not installed, and AIOPS_REQUIRE_KUBECTL=1 makes that a failure`);
      return ctx.skip(`no ${kubectl} on this machine (install kubectl, or Debian's kubernetes-client, to build the kustomization)`);
    }
    expect(run.error).toBeUndefined();
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const built = parseAllDocuments(run.stdout).map((d) => d.toJS() as Built);
    expect(built.map((o) => o.kind).sort()).toEqual([
      'ConfigMap',
      'DaemonSet',
      'Deployment',
      'Namespace',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Secret',
      'Service',
      'Service',
      'ServiceAccount',
    ]);
    for (const o of built) {
      // kustomize 5 folds long base64 values over lines; the API server's base64 decoding skips line
      // breaks, the schema's "byte" format does not, so they are joined before validating.
      if (o.kind === 'Secret' && o.data && typeof o.data === 'object') {
        o.data = Object.fromEntries(Object.entries(o.data).map(([k, v]) => [k, String(v).replace(/\s+/g, '')]));
      }
      const model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect(model, `no schema class for ${o.apiVersion} ${o.kind}`).toBeDefined();
      expect(() => model!(o).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow();
      if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('hks-aiops');
    }
    // The generated ConfigMap and Secret are referenced under their hashed names, and the image is set.
    const names = new Set(built.map((o) => o.metadata.name));
    const deployment = built.find((o) => o.kind === 'Deployment') as Built & {
      spec: {
        template: {
          spec: { containers: { image: string; envFrom: { configMapRef?: { name: string }; secretRef?: { name: string } }[] }[] };
        };
      };
    };
    const app = deployment.spec.template.spec.containers[0]!;
    expect(app.image).toBe('registry.example.com/hks/hks-aiops:0.1.0');
    for (const ref of app.envFrom) expect(names.has((ref.configMapRef ?? ref.secretRef)!.name)).toBe(true);
  });
});
