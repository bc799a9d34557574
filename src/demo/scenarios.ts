import type { OperationSpec, ServiceSpec } from './topology.ts';

const MIN = 60_000;
const Mi = 1024 * 1024;
const Gi = 1024 * Mi;

export interface InjectedError {
  p: number;
  message: string;
  /** gRPC status code for RPCs (2 unknown, 4 deadline, 13 internal, 14 unavailable). */
  grpcCode: number;
}

interface ResourceOverride {
  cpuRequest?: number;
  cpuLimit?: number;
  memRequest?: number;
  memLimit?: number;
  /** Multiplies the CPU the pod wants. */
  cpuDemand?: number;
  /** Working-set bytes of a pod, when the scenario drives memory. */
  memBytes?: (pod: number) => number | undefined;
  /** Container restarts so far for a pod. */
  restarts?: (pod: number) => number;
  /** CPU throttling: the share of CFS periods throttled since a time (the cumulative counter integrates it). */
  throttling?: { since: number; ratio: number };
}

export interface K8sEvent {
  t: number;
  type: 'Normal' | 'Warning';
  reason: string;
  kind: 'Deployment' | 'ReplicaSet' | 'Pod' | 'Node';
  /** Object name; pod names are resolved by the simulator when `pod` is set. */
  name: string;
  pod?: number;
  service: string;
  message: string;
}

export interface ScenarioLog {
  t: number;
  service: string;
  pod?: number;
  severity: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  text: string;
  attributes?: Record<string, string>;
}

export interface ExtraRequest {
  t: number;
  op: string;
  /** Values the request carries (for example the client address of a login). */
  vars: Record<string, string>;
  /** Forced outcome of the entry operation itself. */
  outcome?: { httpStatus: number; log?: ScenarioLog };
}

/** How a scenario bends the simulated world. Every hook is a pure function of time. */
export interface Disturbance {
  version?(service: string, t: number): string | undefined;
  /** Pod generation: a rollout creates a new ReplicaSet and new pods. */
  generation?(service: string, t: number): number | undefined;
  latency?(op: OperationSpec, t: number): number;
  error?(op: OperationSpec, t: number): InjectedError | undefined;
  /** A pod that is not running refuses connections. */
  down?(service: string, pod: number, t: number): boolean;
  resources?(service: ServiceSpec, t: number): ResourceOverride | undefined;
  events?(from: number, to: number): K8sEvent[];
  logs?(from: number, to: number): ScenarioLog[];
  extraRequests?(minute: number, rand: () => number): ExtraRequest[];
}

export interface GroundTruth {
  rootService: string | null;
  kind: string;
  affected: string[];
  description: string;
}

export interface Scenario {
  name: string;
  workspace: string;
  category: 'sre' | 'security' | 'efficiency' | 'none';
  truth: GroundTruth;
  /** Minutes between the fault and the end of the initial window. */
  faultOffsetMinutes: number;
  build(faultStart: number): Disturbance;
}

const rolloutEvents = (service: string, t: number, rsOld: string, rsNew: string, image: string, replicas: number): K8sEvent[] => {
  const out: K8sEvent[] = [];
  for (let i = 0; i < replicas; i++) {
    const at = t + i * 40_000;
    out.push({
      t: at,
      type: 'Normal',
      reason: 'ScalingReplicaSet',
      kind: 'Deployment',
      name: service,
      service,
      message: `Scaled up replica set ${service}-${rsNew} to ${i + 1}`,
    });
    out.push({
      t: at + 2_000,
      type: 'Normal',
      reason: 'Scheduled',
      kind: 'Pod',
      name: '',
      pod: i,
      service,
      message: `Successfully assigned {namespace}/{pod} to {node}`,
    });
    out.push({
      t: at + 3_000,
      type: 'Normal',
      reason: 'Pulling',
      kind: 'Pod',
      name: '',
      pod: i,
      service,
      message: `Pulling image "${image}"`,
    });
    out.push({
      t: at + 9_000,
      type: 'Normal',
      reason: 'Pulled',
      kind: 'Pod',
      name: '',
      pod: i,
      service,
      message: `Successfully pulled image "${image}"`,
    });
    out.push({
      t: at + 10_000,
      type: 'Normal',
      reason: 'Started',
      kind: 'Pod',
      name: '',
      pod: i,
      service,
      message: `Started container ${service}`,
    });
    out.push({
      t: at + 25_000,
      type: 'Normal',
      reason: 'ScalingReplicaSet',
      kind: 'Deployment',
      name: service,
      service,
      message: `Scaled down replica set ${service}-${rsOld} to ${replicas - i - 1}`,
    });
  }
  return out;
};

const within = (events: K8sEvent[], from: number, to: number) => events.filter((e) => e.t >= from && e.t < to);
const logsWithin = (logs: ScenarioLog[], from: number, to: number) => logs.filter((l) => l.t >= from && l.t < to);

/** Replica-set hash for a service version, as Kubernetes would show it. */
export function replicaSetHash(service: string, generation: number): string {
  let h = 2166136261;
  for (const ch of `${service}#${generation}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return (h >>> 0)
    .toString(36)
    .padStart(7, 'x')
    .slice(0, 9)
    .replace(/[0-9]/g, (d) => 'bcdfghjkmn'[Number(d)]!);
}

const paymentBadDeploy: Scenario = {
  name: 'payment-bad-deploy',
  workspace: 'shop',
  category: 'sre',
  truth: {
    rootService: 'payment',
    kind: 'bad_deploy',
    affected: ['payment', 'checkout', 'frontend'],
    description: 'payment 2.5.0 is rolled out; a third of charges then fail, which fails checkout and the frontend checkout page',
  },
  faultOffsetMinutes: 42,
  build(S) {
    const events = rolloutEvents(
      'payment',
      S,
      replicaSetHash('payment', 0),
      replicaSetHash('payment', 1),
      'ghcr.io/hks-demo/payment:2.5.0',
      2,
    );
    const startLogs: ScenarioLog[] = [0, 1].map((pod) => ({
      t: S + pod * 40_000 + 11_000,
      service: 'payment',
      pod,
      severity: 'INFO',
      text: 'payment service 2.5.0 listening on :50051 (charge pipeline: v2)',
    }));
    return {
      version: (s, t) => (s === 'payment' ? (t >= S ? '2.5.0' : '2.4.1') : undefined),
      generation: (s, t) => (s === 'payment' ? (t >= S ? 1 : 0) : undefined),
      latency: (op, t) => (op.service === 'payment' && t >= S ? 1.35 : 1),
      error: (op, t) =>
        op.id === 'payment.Charge' && t >= S + 30_000
          ? {
              p: 0.34,
              grpcCode: 13,
              message: "TypeError: Cannot read properties of undefined (reading 'units') at ChargeHandler.charge (charge.js:84:31)",
            }
          : undefined,
      events: (from, to) => within(events, from, to),
      logs: (from, to) => logsWithin(startLogs, from, to),
    };
  },
};

const currencyCpuStarvation: Scenario = {
  name: 'currency-cpu-starvation',
  workspace: 'shop',
  category: 'sre',
  truth: {
    rootService: 'currency',
    kind: 'cpu_throttling',
    affected: ['currency', 'frontend', 'checkout'],
    description:
      'a configuration rollout lowers the currency CPU limit and disables its rate cache; CPU throttling multiplies currency latency and slows its callers',
  },
  faultOffsetMinutes: 38,
  build(S) {
    const rollout = S - 2 * MIN;
    const events = rolloutEvents(
      'currency',
      rollout,
      replicaSetHash('currency', 0),
      replicaSetHash('currency', 1),
      'ghcr.io/hks-demo/currency:1.3.5',
      2,
    );
    const logs: ScenarioLog[] = [0, 1].map((pod) => ({
      t: rollout + pod * 40_000 + 11_000,
      service: 'currency',
      pod,
      severity: 'INFO',
      text: 'currency service 1.3.5 started (rate cache: disabled, workers: 4)',
    }));
    const throttle = (t: number) => (t >= S ? 0.62 : 0);
    return {
      generation: (s, t) => (s === 'currency' ? (t >= rollout ? 1 : 0) : undefined),
      latency: (op, t) => (op.service === 'currency' ? 1 + 14 * throttle(t) : 1),
      error: (op, t) =>
        op.service === 'currency' && throttle(t) > 0 ? { p: 0.01, grpcCode: 4, message: 'context deadline exceeded' } : undefined,
      resources: (svc, t) =>
        svc.name === 'currency' && t >= rollout
          ? { cpuLimit: 0.25, cpuDemand: t >= S ? 3.2 : 1.2, throttling: { since: S, ratio: 0.62 } }
          : undefined,
      events: (from, to) => within(events, from, to),
      logs: (from, to) => logsWithin(logs, from, to),
    };
  },
};

/** Kubernetes restart back-off: 10s doubling to 5 minutes. */
const BACKOFF_MS = [10_000, 20_000, 40_000, 80_000, 160_000, 300_000];

const cartOomCrashloop: Scenario = {
  name: 'cart-oom-crashloop',
  workspace: 'shop',
  category: 'sre',
  truth: {
    rootService: 'cart',
    kind: 'oom_crashloop',
    affected: ['cart', 'frontend', 'checkout'],
    description:
      'cart leaks memory until it is OOM-killed, then reloads a large snapshot and is killed again; cart calls fail while pods restart',
  },
  faultOffsetMinutes: 40,
  build(S) {
    const LIMIT = 512 * Mi;
    const BASE = 170 * Mi;
    const LEAK_START = S - 45 * MIN;
    const REFILL_MS = 4.5 * MIN;
    // Kill times per pod (pod 1 lags pod 0 by 3 minutes), each followed by a back-off outage.
    const cycles = (pod: number) => {
      const out: { kill: number; up: number }[] = [];
      let t = S + pod * 3 * MIN;
      for (let i = 0; i < 60; i++) {
        const up = t + BACKOFF_MS[Math.min(i, BACKOFF_MS.length - 1)]! + 15_000;
        out.push({ kill: t, up });
        t = up + REFILL_MS;
      }
      return out;
    };
    const perPod = [cycles(0), cycles(1)];
    const state = (pod: number, t: number) => {
      const cs = perPod[pod] ?? perPod[0]!;
      let restarts = 0;
      let last: { kill: number; up: number } | undefined;
      for (const c of cs) {
        if (c.kill > t) break;
        restarts++;
        last = c;
      }
      return { restarts, last };
    };
    const memBytes = (pod: number, t: number): number => {
      const first = (perPod[pod] ?? perPod[0]!)[0]!.kill;
      if (t < LEAK_START) return BASE;
      if (t < first) return BASE + ((LIMIT - BASE) * (t - LEAK_START)) / (first - LEAK_START);
      const { last } = state(pod, t);
      if (!last || t < last.up) return 0;
      return Math.min(LIMIT, 150 * Mi + ((LIMIT - 150 * Mi) * (t - last.up)) / REFILL_MS);
    };
    const events: K8sEvent[] = [];
    const logs: ScenarioLog[] = [];
    perPod.forEach((cs, pod) => {
      for (let t = LEAK_START + 20 * MIN; t < cs[0]!.kill; t += 5 * MIN) {
        logs.push({
          t,
          service: 'cart',
          pod,
          severity: 'WARN',
          text: `memory usage at ${Math.round((100 * memBytes(pod, t)) / LIMIT)}% of limit; cart snapshot holds {n} entries`,
        });
      }
      cs.forEach((c, i) => {
        events.push({
          t: c.kill,
          type: 'Warning',
          reason: 'OOMKilling',
          kind: 'Node',
          name: '{node}',
          pod,
          service: 'cart',
          message: `Memory cgroup out of memory: Killed process 1 (cart-service) total-vm:1893412kB, anon-rss:${LIMIT / 1024}kB`,
        });
        events.push({
          t: c.kill + 1_000,
          type: 'Normal',
          reason: 'Killing',
          kind: 'Pod',
          name: '',
          pod,
          service: 'cart',
          message: 'Container cart exceeded its memory limit (OOMKilled)',
        });
        if (i > 0) {
          events.push({
            t: c.kill + 2_000,
            type: 'Warning',
            reason: 'BackOff',
            kind: 'Pod',
            name: '',
            pod,
            service: 'cart',
            message: 'Back-off restarting failed container cart in pod {pod}',
          });
        }
        events.push({
          t: c.up - 5_000,
          type: 'Normal',
          reason: 'Started',
          kind: 'Pod',
          name: '',
          pod,
          service: 'cart',
          message: 'Started container cart',
        });
        logs.push({
          t: c.up - 4_000,
          service: 'cart',
          pod,
          severity: 'INFO',
          text: 'cart service 1.8.2 starting; loading cart snapshot from redis-cart',
        });
        logs.push({ t: c.up, service: 'cart', pod, severity: 'INFO', text: 'loaded 1184302 carts from snapshot into memory' });
      });
    });
    return {
      down: (s, pod, t) => {
        if (s !== 'cart') return false;
        const { last } = state(pod, t);
        return !!last && t < last.up;
      },
      resources: (svc, t) =>
        svc.name === 'cart'
          ? { memBytes: (pod) => (t >= LEAK_START ? memBytes(pod, t) : undefined), restarts: (pod) => state(pod, t).restarts }
          : undefined,
      events: (from, to) => within(events, from, to),
      logs: (from, to) => logsWithin(logs, from, to),
    };
  },
};

const ATTACKERS = ['203.0.113.45', '203.0.113.46', '198.51.100.23'];
const TARGET_USERS = [
  'admin',
  'root',
  'administrator',
  'test',
  'support',
  'alice',
  'bob',
  'sales',
  'info',
  'operator',
  'guest',
  'webmaster',
];

const authBruteforce: Scenario = {
  name: 'auth-bruteforce',
  workspace: 'shop',
  category: 'security',
  truth: {
    rootService: 'frontend',
    kind: 'brute_force',
    affected: ['frontend'],
    description: 'three addresses try thousands of passwords against common accounts on the frontend login within fifteen minutes',
  },
  faultOffsetMinutes: 30,
  build(S) {
    const END = S + 16 * MIN;
    return {
      latency: (op, t) => (op.id === 'frontend.POST /login' && t >= S && t < END ? 1.6 : 1),
      extraRequests: (minute, rand) => {
        if (minute < S || minute >= END) return [];
        const out: ExtraRequest[] = [];
        const n = 85 + Math.floor(rand() * 20);
        for (let i = 0; i < n; i++) {
          const ip = ATTACKERS[i % 3 === 2 && rand() < 0.5 ? 2 : Math.floor(rand() * 2)]!;
          const user = TARGET_USERS[Math.floor(rand() * TARGET_USERS.length)]!;
          const t = minute + Math.floor(rand() * MIN);
          out.push({
            t,
            op: 'frontend.POST /login',
            vars: { ip, user, user_agent: 'python-requests/2.31.0' },
            outcome: {
              httpStatus: 401,
              log: {
                t,
                service: 'frontend',
                severity: 'WARN',
                text: `login failed for user ${user} from ${ip}: invalid password`,
                attributes: {
                  'event.name': 'user.login',
                  'event.outcome': 'failure',
                  'user.name': user,
                  'client.address': ip,
                  'http.route': '/login',
                },
              },
            },
          });
        }
        return out;
      },
    };
  },
};

const recommendationOverprovisioned: Scenario = {
  name: 'recommendation-overprovisioned',
  workspace: 'shop',
  category: 'efficiency',
  truth: {
    rootService: 'recommendation',
    kind: 'overprovisioned',
    affected: ['recommendation'],
    description: 'recommendation requests 4 CPU cores and 8 GiB per pod but uses about 0.13 cores and 380 MiB',
  },
  faultOffsetMinutes: 60,
  build() {
    return {
      resources: (svc) =>
        svc.name === 'recommendation' ? { cpuRequest: 4, cpuLimit: 4, memRequest: 8 * Gi, memLimit: 8 * Gi } : undefined,
    };
  },
};

const none: Scenario = {
  name: 'none',
  workspace: 'shop',
  category: 'none',
  truth: {
    rootService: null,
    kind: 'none',
    affected: [],
    description: 'no fault: ordinary traffic, routine warnings and a harmless rollout',
  },
  faultOffsetMinutes: 45,
  build() {
    return {};
  },
};

export const SCENARIOS: Record<string, Scenario> = Object.fromEntries(
  [paymentBadDeploy, currencyCpuStarvation, cartOomCrashloop, authBruteforce, recommendationOverprovisioned, none].map((s) => [s.name, s]),
);

export const SCENARIO_NAMES = Object.keys(SCENARIOS);
