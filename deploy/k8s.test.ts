// The Kubernetes manifests of deploy/k8s (issue 18), checked by real tools:
//   `kubectl kustomize` renders the kustomization (Debian's kubernetes-client; offline);
//   every rendered object validates against the Kubernetes API's JSON schemas (kubernetes-models);
//   the objects agree with each other (selectors, named ports, the HPA's target, the generated
//   ConfigMap's name) and with the gateway: gateway.json passes its config validation, the probes'
//   paths answer on a real gateway, the grace period covers its shutdown timeout.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { buildGateway } from '../live/gateway/gateway.js';
import { loadLiveConfig, resolveLiveConfig } from '../live/shared/config.js';
import { DEPLOY_DIR } from './promql-names.js';

const K8S = join(DEPLOY_DIR, 'k8s');
const scratch: string[] = [];
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string> }; // eslint-disable-line @typescript-eslint/no-explicit-any

function render(dir: string): { status: number | null; objects: Obj[]; stderr: string } {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  const objects = r.status === 0 ? parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj) : [];
  return { status: r.status, objects, stderr: `${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

const MODELS: Record<string, new (o: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap, 'v1/Service': Service, 'apps/v1/Deployment': Deployment, 'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler, 'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

function validate(o: Obj): void {
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (Model === undefined) throw new Error(`no schema here for ${o.apiVersion}/${o.kind}`);
  new Model(o as never).validate();
}

describe('Kubernetes manifests (deploy/k8s)', () => {
  const { status, objects, stderr } = render(K8S);
  const one = (kind: string, name?: string): Obj => {
    const o = objects.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
    if (o === undefined) throw new Error(`no ${kind} ${name ?? ''} rendered`);
    return o;
  };

  it('kubectl kustomize renders them; every object validates against the Kubernetes API schemas', () => {
    expect(status, stderr).toBe(0);
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service', 'Service', 'StatefulSet']);
    for (const o of objects) expect(() => validate(o), `${o.kind} ${o.metadata.name}`).not.toThrow();
    for (const o of objects) expect(o.metadata.labels?.['app.kubernetes.io/part-of']).toBe('mlx-serving');
  });

  it('the checks are real: a mistyped field fails the schema, a missing resource fails kustomize', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlx-k8s-'));
    scratch.push(dir);
    cpSync(K8S, dir, { recursive: true });
    writeFileSync(join(dir, 'gateway-deployment.yaml'), readFileSync(join(K8S, 'gateway-deployment.yaml'), 'utf8').replace('replicas: 2', 'replicas: "two"'));
    const bad = render(dir);
    expect(bad.status).toBe(0);
    expect(() => validate(bad.objects.find((o) => o.kind === 'Deployment')!)).toThrow(/replicas must be integer/);
    rmSync(join(dir, 'gateway-pdb.yaml'));
    expect(render(dir).status).not.toBe(0);
  });

  it('selectors, named ports, the HPA target and the generated ConfigMap agree', () => {
    const dep = one('Deployment', 'mlx-serving-gateway');
    const pod = dep.spec.template;
    const labels = pod.metadata.labels as Record<string, string>;
    const container = pod.spec.containers[0];
    const matches = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
    expect(matches(dep.spec.selector.matchLabels)).toBe(true);
    expect(matches(one('Service', 'mlx-serving-gateway').spec.selector)).toBe(true);
    expect(matches(one('PodDisruptionBudget').spec.selector.matchLabels)).toBe(true);
    const portNames = container.ports.map((p: { name: string }) => p.name);
    expect(portNames).toContain(one('Service', 'mlx-serving-gateway').spec.ports[0].targetPort);
    expect(portNames).toContain(container.readinessProbe.httpGet.port);
    expect(one('HorizontalPodAutoscaler').spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: dep.metadata.name });
    expect(one('HorizontalPodAutoscaler').spec.minReplicas).toBeGreaterThanOrEqual(2);
    // kustomize names the ConfigMap with a content hash and rewrites the reference
    const cm = one('ConfigMap');
    expect(cm.metadata.name).toMatch(/^mlx-serving-gateway-[a-z0-9]{10}$/);
    expect(pod.spec.volumes[0].configMap.name).toBe(cm.metadata.name);
    const nats = one('StatefulSet', 'nats');
    expect(one('Service', 'nats').spec.ports[0].targetPort).toBe(nats.spec.template.spec.containers[0].ports[0].name);
  });

  it('the gateway container runs the installed command on the mounted config, as the image\'s user', () => {
    const pod = one('Deployment').spec.template;
    const container = pod.spec.containers[0];
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === pod.spec.volumes[0].name).mountPath as string;
    expect(container.args).toEqual(['gateway', '--config', `${mount}/gateway.json`]);
    expect(Object.keys(one('ConfigMap').data!)).toEqual(['gateway.json']);
    const dockerfile = readFileSync(join(DEPLOY_DIR, 'compose', 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ENTRYPOINT \["mlx-serving"\]$/m);
    expect(dockerfile).toMatch(/^USER node$/m); // uid 1000 in the node images: runAsUser below
    expect(pod.spec.securityContext.runAsUser).toBe(1000);
    const secretKeys = container.env.map((e: { valueFrom: { secretKeyRef: { name: string; key: string } } }) => e.valueFrom.secretKeyRef);
    expect(secretKeys).toEqual([{ name: 'mlx-serving-keys', key: 'api-keys' }, { name: 'mlx-serving-keys', key: 'admin-key' }]);
    // the kustomization's header creates exactly that secret
    expect(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')).toContain('secret generic mlx-serving-keys \\\n#     --from-literal=api-keys="$MLX_SERVING_API_KEYS" --from-literal=admin-key="$MLX_SERVING_ADMIN_KEY"');
  });

  it('gateway.json passes the gateway\'s validation, with the keys from the environment as the pod gets them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlx-k8s-cfg-'));
    scratch.push(dir);
    writeFileSync(join(dir, 'gateway.json'), one('ConfigMap').data!['gateway.json']!);
    const cfg = loadLiveConfig(join(dir, 'gateway.json'), { MLX_SERVING_API_KEYS: 'sk-k8s-a,sk-k8s-b', MLX_SERVING_ADMIN_KEY: 'sk-k8s-admin' });
    expect(cfg.auth.apiKeys).toEqual(['sk-k8s-a', 'sk-k8s-b']);
    expect(cfg.auth.adminKey).toBe('sk-k8s-admin');
    expect(cfg.registry).toMatchObject({ type: 'nats', url: `nats://nats:${one('Service', 'nats').spec.ports[0].port}` });
    const container = one('Deployment').spec.template.spec.containers[0];
    expect(container.ports[0].containerPort).toBe(cfg.listen.port);
    // the grace period outlasts the gateway's own graceful stop
    expect(one('Deployment').spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(cfg.limits.shutdownTimeoutMs);
  });

  it('the probes\' paths answer 200 on a real gateway that has no worker yet', async () => {
    const container = one('Deployment').spec.template.spec.containers[0];
    const raw = JSON.parse(one('ConfigMap').data!['gateway.json']!) as Record<string, unknown>;
    // the same config without its NATS (nothing to connect to here) and on a free port
    const config = resolveLiveConfig({ ...raw, registry: undefined, listen: { host: '127.0.0.1', port: 0 }, logLevel: 'silent', auth: { apiKeys: ['sk-k8s-probe'] } });
    const gw = buildGateway({ config, logger: false });
    const url = await gw.start();
    try {
      for (const probe of [container.readinessProbe, container.livenessProbe]) {
        expect((await fetch(`${url}${probe.httpGet.path as string}`)).status, probe.httpGet.path).toBe(200);
      }
    } finally {
      await gw.stop();
    }
  });
});
