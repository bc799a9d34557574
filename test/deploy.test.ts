import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
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

  it('mount every policy segment the service validates', () => {
    const files = kustomization.configMapGenerator
      .find((g) => g.name === 'hks-aiops-policies')!
      .files!.map((f) => path.basename(f, '.yaml'))
      .sort();
    expect(files).toEqual(Object.keys(POLICY_SEGMENTS).sort());
    expect(files).toEqual(
      fs
        .readdirSync('policies')
        .map((f) => path.basename(f, '.yaml'))
        .sort(),
    );
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
    expect(mounts).toEqual(expect.arrayContaining([env.AIOPS_DATA_DIR, env.AIOPS_POLICIES_DIR, '/tmp']));
    expect(container.resources.limits.memory).toBeDefined();
  });
});
