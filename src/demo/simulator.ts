import { Rng, seedOf } from './random.ts';
import { replicaSetHash, type Disturbance, type ExtraRequest, type InjectedError, type K8sEvent, type ScenarioLog } from './scenarios.ts';
import type { OperationSpec, ServiceSpec, WorkspaceSpec } from './topology.ts';

/**
 * The demo world as OTLP/JSON: every minute is generated from its own seeded
 * stream, so any range can be produced alone (a backfill or a live minute)
 * and gives exactly the data a longer run would have given.
 */

export const MINUTE = 60_000;

export interface SimulationPlan {
  workspace: WorkspaceSpec;
  disturbance: Disturbance;
  /** Anchors scenario effects and the routine rollout before them. */
  faultStart: number;
  seed: number;
  /** Multiplies traffic (1 = demo size). */
  scale?: number;
}

type OtlpKeyValue = {
  key: string;
  value: { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };
};
type OtlpResource = { attributes: OtlpKeyValue[] };

export interface TelemetryBatch {
  logs: { resourceLogs: { resource: OtlpResource; scopeLogs: { scope: { name: string; version?: string }; logRecords: unknown[] }[] }[] };
  traces: { resourceSpans: { resource: OtlpResource; scopeSpans: { scope: { name: string; version?: string }; spans: unknown[] }[] }[] };
  metrics: {
    resourceMetrics: { resource: OtlpResource; scopeMetrics: { scope: { name: string; version?: string }; metrics: unknown[] }[] }[];
  };
  counts: { logs: number; spans: number; points: number };
}

const SEVERITY: Record<string, number> = { DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17 };
const GRPC_CODE_NAME: Record<number, string> = { 2: 'Unknown', 4: 'DeadlineExceeded', 13: 'Internal', 14: 'Unavailable' };
const HTTP_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const RPC_BOUNDS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
const CUSTOMERS = ['maria.lopez', 'j.chen', 'sam.okafor', 'priya.n', 'tom.becker', 'lena.k', 'ahmed.r', 'nora.s', 'yuki.t', 'dave.m'];
const PRODUCTS = [
  'OLJCESPC7Z',
  '66VCHSJNUP',
  '1YMWWN1N4O',
  'L9ECAV7KIM',
  '2ZYFJ3GM2N',
  '0PUK6V6EV0',
  'LS4PSXUNUM',
  '9SIQT8TOJO',
  '6E92ZMYYFZ',
];
const CURRENCIES = ['EUR', 'USD', 'GBP', 'JPY', 'CHF'];
const VERBS: Record<string, string> = {
  Charge: 'charge card',
  GetCart: 'retrieve cart',
  AddItem: 'add item to cart',
  EmptyCart: 'empty cart',
  Convert: 'convert currency',
  GetSupportedCurrencies: 'get supported currencies',
  GetQuote: 'get shipping quote',
  ShipOrder: 'ship order',
  PlaceOrder: 'place order',
  GetProduct: 'get product',
  ListProducts: 'list products',
  ListRecommendations: 'get recommendations',
  GetAds: 'retrieve ads',
  SendOrderConfirmation: 'send order confirmation',
  Process: 'process events',
  Load: 'load batch',
  RunJob: 'run job',
};

/** Traffic over the day: a quiet night (35% of peak) and a mid-afternoon UTC peak. */
function dailyLoad(t: number): number {
  const hour = (t / 3_600_000) % 24;
  return 0.35 + 0.65 * (0.5 + 0.5 * Math.sin((2 * Math.PI * (hour - 9)) / 24));
}

const ns = (ms: number) => `${Math.round(ms * 1000)}000`;
const str = (key: string, v: string): OtlpKeyValue => ({ key, value: { stringValue: v } });
const int = (key: string, v: number): OtlpKeyValue => ({ key, value: { intValue: String(v) } });
const attrs = (o: Record<string, string | number | undefined>): OtlpKeyValue[] =>
  Object.entries(o).flatMap(([k, v]) => (v === undefined ? [] : [typeof v === 'number' ? int(k, v) : str(k, v)]));

interface Failure {
  message: string;
  grpcCode: number;
  httpStatus: number;
}

interface HistogramAcc {
  pod: number;
  op: OperationSpec;
  status: string;
  count: number;
  sum: number;
  min: number;
  max: number;
  buckets: number[];
}

interface Request {
  rng: Rng;
  traceId: string;
  vars: Record<string, string>;
}

class World {
  private readonly services: Map<string, ServiceSpec>;
  private readonly ops: Map<string, OperationSpec>;
  private readonly resources = new Map<
    string,
    { resource: OtlpResource; logs: Map<string, unknown[]>; spans: unknown[]; metrics: unknown[] }
  >();
  private readonly hist = new Map<string, HistogramAcc>();
  counts = { logs: 0, spans: 0, points: 0 };

  constructor(private readonly plan: SimulationPlan) {
    this.services = new Map(plan.workspace.services.map((s) => [s.name, s]));
    this.ops = new Map(plan.workspace.operations.map((o) => [o.id, o]));
  }

  get ws() {
    return this.plan.workspace;
  }

  // --- the deployed state at time t -------------------------------------------------

  private routine(service: string, t: number): { generation: number; version?: string } {
    const r = this.ws.routineDeploy;
    if (!r || r.service !== service) return { generation: 0 };
    const at = this.plan.faultStart - r.minutesBeforeFault * MINUTE;
    return t >= at ? { generation: 1, version: r.toVersion } : { generation: 0, version: r.fromVersion };
  }

  generation(service: string, t: number): number {
    return this.plan.disturbance.generation?.(service, t) ?? this.routine(service, t).generation;
  }

  version(service: string, t: number): string {
    return this.plan.disturbance.version?.(service, t) ?? this.routine(service, t).version ?? this.services.get(service)!.version;
  }

  podName(service: string, pod: number, t: number): string {
    const gen = this.generation(service, t);
    const suffix = new Rng(seedOf(this.ws.name, service, gen, pod)).hex(5).replace(/[0-9]/g, (d) => 'bcdfghjkmn'[Number(d)]!);
    return `${service}-${replicaSetHash(service, gen)}-${suffix}`;
  }

  node(service: string, pod: number): string {
    return `worker-${1 + (seedOf(this.ws.name, service, pod) % 4)}`;
  }

  private resourceAttrs(service: string, pod: number, t: number): OtlpResource {
    const spec = this.services.get(service)!;
    return {
      attributes: attrs({
        'service.name': service,
        'service.version': this.version(service, t),
        'service.namespace': this.ws.name,
        'deployment.environment.name': 'production',
        'k8s.namespace.name': this.ws.name,
        'k8s.deployment.name': service,
        'k8s.pod.name': this.podName(service, pod, t),
        'k8s.node.name': this.node(service, pod),
        'k8s.container.name': service,
        'telemetry.sdk.language': spec.protocol === 'http' ? 'nodejs' : 'go',
      }),
    };
  }

  private bucket(service: string, pod: number, t: number) {
    const key = `${service}|${this.podName(service, pod, t)}|${this.version(service, t)}`;
    let b = this.resources.get(key);
    if (!b) {
      b = { resource: this.resourceAttrs(service, pod, t), logs: new Map(), spans: [], metrics: [] };
      this.resources.set(key, b);
    }
    return b;
  }

  private eventBucket(kind: string, name: string) {
    const key = `k8s-event|${kind}|${name}`;
    let b = this.resources.get(key);
    if (!b) {
      b = {
        resource: {
          attributes: attrs({
            'k8s.namespace.name': this.ws.name,
            'k8s.object.kind': kind,
            'k8s.object.name': name,
            'k8s.object.api_version': kind === 'Deployment' || kind === 'ReplicaSet' ? 'apps/v1' : 'v1',
          }),
        },
        logs: new Map(),
        spans: [],
        metrics: [],
      };
      this.resources.set(key, b);
    }
    return b;
  }

  // --- emitting --------------------------------------------------------------------

  log(
    service: string,
    pod: number,
    t: number,
    severity: string,
    body: string,
    extra: Record<string, string> = {},
    trace?: { traceId: string; spanId: string },
  ) {
    const b = this.bucket(service, pod, t);
    const scope = `${this.ws.name}/${service}`;
    let list = b.logs.get(scope);
    if (!list) {
      list = [];
      b.logs.set(scope, list);
    }
    list.push({
      timeUnixNano: ns(t),
      observedTimeUnixNano: ns(t + 3),
      severityNumber: SEVERITY[severity] ?? 9,
      severityText: severity,
      body: { stringValue: body },
      attributes: attrs(extra),
      ...(trace ? { traceId: trace.traceId, spanId: trace.spanId, flags: 1 } : {}),
    });
    this.counts.logs++;
  }

  private event(e: K8sEvent, rng: Rng) {
    const pod = e.pod ?? 0;
    const podName = this.podName(e.service, pod, e.t);
    const node = this.node(e.service, pod);
    const fill = (s: string) => s.replaceAll('{namespace}', this.ws.name).replaceAll('{pod}', podName).replaceAll('{node}', node);
    const name = e.kind === 'Pod' ? podName : fill(e.name);
    const b = this.eventBucket(e.kind, name);
    let list = b.logs.get('k8seventsreceiver');
    if (!list) {
      list = [];
      b.logs.set('k8seventsreceiver', list);
    }
    list.push({
      timeUnixNano: ns(e.t),
      observedTimeUnixNano: ns(e.t + 800),
      severityNumber: e.type === 'Warning' ? 13 : 9,
      severityText: e.type === 'Warning' ? 'WARN' : 'INFO',
      body: { stringValue: fill(e.message) },
      attributes: attrs({
        'k8s.event.reason': e.reason,
        'k8s.event.action': e.reason,
        'k8s.event.name': `${name}.${rng.hex(16)}`,
        'k8s.event.uid': `${rng.hex(8)}-${rng.hex(4)}-${rng.hex(4)}-${rng.hex(4)}-${rng.hex(12)}`,
        'k8s.event.count': 1,
        'k8s.namespace.name': this.ws.name,
      }),
    });
    this.counts.logs++;
  }

  private span(service: string, pod: number, s: Record<string, unknown>) {
    this.bucket(service, pod, Number(String(s.startTimeUnixNano).slice(0, -6))).spans.push(s);
    this.counts.spans++;
  }

  // --- requests --------------------------------------------------------------------

  /** Runs a server operation (and everything it calls); returns when it ends and whether it failed. */
  private serve(
    opId: string,
    req: Request,
    start: number,
    parentSpanId: string,
    pod: number,
    forcedStatus?: number,
  ): { end: number; failure?: Failure } {
    const op = this.ops.get(opId)!;
    const { rng } = req;
    const spanId = rng.hex(16);
    const factor = this.plan.disturbance.latency?.(op, start) ?? 1;
    const self = rng.lognormal(op.selfMs * factor, op.sigma);
    let cursor = start + self * 0.25;
    let failure: Failure | undefined;

    if (op.backend) {
      const b = op.backend;
      const dur = rng.lognormal(b.ms, 0.45);
      this.span(op.service, pod, {
        traceId: req.traceId,
        spanId: rng.hex(16),
        parentSpanId: spanId,
        name: b.name,
        kind: 3,
        startTimeUnixNano: ns(cursor),
        endTimeUnixNano: ns(cursor + dur),
        attributes: attrs(
          b.system === 'http'
            ? {
                'http.request.method': 'POST',
                'url.full': `https://${b.peer}/v1/charges`,
                'server.address': b.peer,
                'http.response.status_code': 200,
              }
            : {
                'db.system': b.system,
                'db.query.text': b.statement?.replace('{session}', req.vars.session ?? ''),
                'server.address': b.peer,
              },
        ),
        status: { code: 0 },
      });
      cursor += dur;
    }

    for (const call of op.calls) {
      const callee = this.ops.get(call.op)!;
      const calleePod = rng.int(this.services.get(callee.service)!.replicas);
      const clientId = rng.hex(16);
      const net = rng.between(0.2, 0.9);
      let result: { end: number; failure?: Failure };
      if (this.plan.disturbance.down?.(callee.service, calleePod, cursor)) {
        result = {
          end: cursor + rng.between(0.5, 2.5),
          failure: {
            grpcCode: 14,
            httpStatus: 503,
            message: `connection error: dial tcp 10.42.${1 + (seedOf(callee.service, calleePod) % 200)}.${10 + calleePod}:7070: connect: connection refused`,
          },
        };
      } else {
        result = this.serve(call.op, req, cursor + net, clientId, calleePod);
      }
      const clientEnd = result.end + net;
      const wrapped = result.failure
        ? `rpc error: code = ${GRPC_CODE_NAME[result.failure.grpcCode] ?? 'Unknown'} desc = ${result.failure.message}`
        : '';
      this.span(op.service, pod, {
        traceId: req.traceId,
        spanId: clientId,
        parentSpanId: spanId,
        name: `${callee.rpcService}/${callee.rpcMethod}`,
        kind: 3,
        startTimeUnixNano: ns(cursor),
        endTimeUnixNano: ns(clientEnd),
        attributes: attrs({
          'rpc.system': 'grpc',
          'rpc.service': callee.rpcService,
          'rpc.method': callee.rpcMethod,
          'rpc.grpc.status_code': result.failure?.grpcCode ?? 0,
          'server.address': callee.service,
          'server.port': 7070,
        }),
        status: result.failure ? { code: 2, message: wrapped } : { code: 0 },
      });
      cursor = clientEnd;
      if (result.failure) {
        const verb = VERBS[callee.rpcMethod ?? ''] ?? `call ${callee.id}`;
        const context = req.vars.order ? ` for order ${req.vars.order}` : '';
        if (call.critical) {
          failure = {
            grpcCode: result.failure.grpcCode === 14 ? 14 : 13,
            httpStatus: result.failure.grpcCode === 14 ? 503 : 500,
            message: `failed to ${verb}${context}: ${wrapped}`,
          };
          break;
        }
        this.log(
          op.service,
          pod,
          cursor,
          'WARN',
          `failed to ${verb}${context}, continuing without it: ${wrapped}`,
          {},
          { traceId: req.traceId, spanId },
        );
      }
    }

    if (!failure) {
      const injected: InjectedError | undefined = this.plan.disturbance.error?.(op, start);
      if (injected && rng.chance(injected.p)) {
        failure = { grpcCode: injected.grpcCode, httpStatus: 500, message: injected.message };
      }
    }
    const end = cursor + self * 0.75;
    let httpStatus = failure ? failure.httpStatus : (forcedStatus ?? 200);
    if (!failure && op.id.endsWith('/product/{id}') && rng.chance(0.01)) httpStatus = 404;
    if (!failure && op.route === '/login' && forcedStatus === undefined && rng.chance(0.05)) httpStatus = 401;

    const isHttp = op.protocol === 'http';
    this.span(op.service, pod, {
      traceId: req.traceId,
      spanId,
      ...(parentSpanId ? { parentSpanId } : {}),
      name: isHttp ? `${op.method} ${op.route}` : `${op.rpcService}/${op.rpcMethod}`,
      kind: 2,
      startTimeUnixNano: ns(start),
      endTimeUnixNano: ns(end),
      attributes: attrs(
        isHttp
          ? {
              'http.request.method': op.method,
              'http.route': op.route,
              'url.path': op.route!.replace('{id}', req.vars.product ?? 'x'),
              'http.response.status_code': httpStatus,
              'client.address': req.vars.ip,
              'user_agent.original': req.vars.user_agent,
            }
          : {
              'rpc.system': 'grpc',
              'rpc.service': op.rpcService,
              'rpc.method': op.rpcMethod,
              'rpc.grpc.status_code': failure?.grpcCode ?? 0,
            },
      ),
      status: failure ? { code: 2, message: failure.message } : { code: 0 },
    });

    const statusLabel = isHttp ? String(httpStatus) : String(failure?.grpcCode ?? 0);
    this.observe(op, pod, statusLabel, end - start);

    const trace = { traceId: req.traceId, spanId };
    if (op.accessLog) {
      const path = op.route!.replace('{id}', req.vars.product ?? 'x');
      this.log(
        op.service,
        pod,
        end,
        httpStatus >= 500 ? 'ERROR' : 'INFO',
        `${req.vars.ip} "${op.method} ${path} HTTP/1.1" ${httpStatus} ${Math.round(end - start)}ms`,
        {
          'http.request.method': op.method!,
          'http.route': op.route!,
          'http.response.status_code': String(httpStatus),
        },
        trace,
      );
    }
    if (failure) {
      const what = isHttp ? `${op.method} ${op.route}` : (op.rpcMethod ?? op.id);
      this.log(
        op.service,
        pod,
        end,
        'ERROR',
        `${what} failed: ${failure.message}`,
        isHttp ? { 'http.response.status_code': String(httpStatus) } : {},
        trace,
      );
    } else if (op.route === '/login' && httpStatus === 401 && forcedStatus === undefined) {
      this.log(
        op.service,
        pod,
        end,
        'WARN',
        `login failed for user ${req.vars.user} from ${req.vars.ip}: invalid password`,
        {
          'event.name': 'user.login',
          'event.outcome': 'failure',
          'user.name': req.vars.user!,
          'client.address': req.vars.ip!,
          'http.route': '/login',
        },
        trace,
      );
    } else if (op.log && forcedStatus === undefined && rng.chance(op.log.p)) {
      const extra: Record<string, string> =
        op.route === '/login'
          ? { 'event.name': 'user.login', 'event.outcome': 'success', 'user.name': req.vars.user!, 'client.address': req.vars.ip! }
          : {};
      this.log(op.service, pod, end, 'INFO', fill(op.log.text, req, rng, end - start), extra, trace);
    }
    return { end, failure };
  }

  private observe(op: OperationSpec, pod: number, status: string, ms: number) {
    const key = `${op.id}|${pod}|${status}`;
    let h = this.hist.get(key);
    if (!h) {
      const bounds = op.protocol === 'http' ? HTTP_BOUNDS : RPC_BOUNDS;
      h = { op, pod, status, count: 0, sum: 0, min: Infinity, max: -Infinity, buckets: new Array(bounds.length + 1).fill(0) };
      this.hist.set(key, h);
    }
    const v = op.protocol === 'http' ? ms / 1000 : ms;
    const bounds = op.protocol === 'http' ? HTTP_BOUNDS : RPC_BOUNDS;
    let i = 0;
    while (i < bounds.length && v > bounds[i]!) i++;
    h.buckets[i]!++;
    h.count++;
    h.sum += v;
    h.min = Math.min(h.min, v);
    h.max = Math.max(h.max, v);
  }

  request(entry: string, t: number, rng: Rng, vars: Record<string, string>, forcedStatus?: number) {
    const op = this.ops.get(entry)!;
    const pod = rng.int(this.services.get(op.service)!.replicas);
    const req: Request = { rng, traceId: rng.hex(32), vars };
    const r = this.serve(entry, req, t, '', pod, forcedStatus);
    return { ...r, pod, traceId: req.traceId };
  }

  // --- one minute ------------------------------------------------------------------

  minute(m: number) {
    const rng = new Rng(seedOf(this.plan.seed, this.ws.name, m));
    const load = dailyLoad(m);
    const scale = this.plan.scale ?? 1;
    for (const entry of this.ws.entries) {
      const n = rng.poisson(entry.perMinute * load * scale);
      for (let i = 0; i < n; i++) {
        const vars = requestVars(rng);
        this.request(entry.op, m + rng.next() * MINUTE, rng, vars);
      }
    }
    const extraRng = new Rng(seedOf(this.plan.seed, this.ws.name, m, 'extra'));
    const extra: ExtraRequest[] = this.plan.disturbance.extraRequests?.(m, () => extraRng.next()) ?? [];
    for (const x of extra) {
      const r = this.request(x.op, x.t, extraRng, { ...requestVars(extraRng), ...x.vars }, x.outcome?.httpStatus);
      const l = x.outcome?.log;
      if (l) this.log(l.service, r.pod, r.end, l.severity, l.text, l.attributes, { traceId: r.traceId, spanId: '' });
    }
    for (const b of this.ws.background) {
      const n = rng.poisson(b.rate);
      for (let i = 0; i < n; i++) {
        const spec = this.services.get(b.service)!;
        this.log(
          b.service,
          rng.int(spec.replicas),
          m + rng.next() * MINUTE,
          b.severity,
          fill(b.text, { rng, traceId: '', vars: requestVars(rng) }, rng, 0),
        );
      }
    }
    const events = [...(this.plan.disturbance.events?.(m, m + MINUTE) ?? []), ...this.routineEvents(m, m + MINUTE)];
    for (const e of events) this.event(e, rng);
    const logs: ScenarioLog[] = this.plan.disturbance.logs?.(m, m + MINUTE) ?? [];
    for (const l of logs)
      this.log(l.service, l.pod ?? 0, l.t, l.severity, fill(l.text, { rng, traceId: '', vars: requestVars(rng) }, rng, 0), l.attributes);
    this.flushHistograms(m);
    this.resourceMetrics(m, rng);
  }

  private routineEvents(from: number, to: number): K8sEvent[] {
    const r = this.ws.routineDeploy;
    if (!r) return [];
    const at = this.plan.faultStart - r.minutesBeforeFault * MINUTE;
    if (at + 2 * MINUTE < from || at >= to) return [];
    const replicas = this.services.get(r.service)!.replicas;
    const out: K8sEvent[] = [];
    for (let i = 0; i < replicas; i++) {
      const t0 = at + i * 40_000;
      out.push({
        t: t0,
        type: 'Normal',
        reason: 'ScalingReplicaSet',
        kind: 'Deployment',
        name: r.service,
        service: r.service,
        message: `Scaled up replica set ${r.service}-${replicaSetHash(r.service, 1)} to ${i + 1}`,
      });
      out.push({
        t: t0 + 3_000,
        type: 'Normal',
        reason: 'Pulling',
        kind: 'Pod',
        name: '',
        pod: i,
        service: r.service,
        message: `Pulling image "ghcr.io/hks-demo/${r.service}:${r.toVersion}"`,
      });
      out.push({
        t: t0 + 10_000,
        type: 'Normal',
        reason: 'Started',
        kind: 'Pod',
        name: '',
        pod: i,
        service: r.service,
        message: `Started container ${r.service}`,
      });
      out.push({
        t: t0 + 25_000,
        type: 'Normal',
        reason: 'ScalingReplicaSet',
        kind: 'Deployment',
        name: r.service,
        service: r.service,
        message: `Scaled down replica set ${r.service}-${replicaSetHash(r.service, 0)} to ${replicas - i - 1}`,
      });
    }
    return out.filter((e) => e.t >= from && e.t < to);
  }

  private flushHistograms(m: number) {
    for (const h of this.hist.values()) {
      const isHttp = h.op.protocol === 'http';
      const t = m + MINUTE;
      this.bucket(h.op.service, h.pod, m).metrics.push({
        name: isHttp ? 'http.server.request.duration' : 'rpc.server.duration',
        unit: isHttp ? 's' : 'ms',
        description: isHttp ? 'Duration of HTTP server requests.' : 'Measures the duration of inbound RPC.',
        histogram: {
          aggregationTemporality: 1,
          dataPoints: [
            {
              attributes: attrs(
                isHttp
                  ? { 'http.request.method': h.op.method, 'http.route': h.op.route, 'http.response.status_code': Number(h.status) }
                  : {
                      'rpc.system': 'grpc',
                      'rpc.service': h.op.rpcService,
                      'rpc.method': h.op.rpcMethod,
                      'rpc.grpc.status_code': Number(h.status),
                    },
              ),
              startTimeUnixNano: ns(m),
              timeUnixNano: ns(t),
              count: String(h.count),
              sum: h.sum,
              min: h.min,
              max: h.max,
              bucketCounts: h.buckets.map(String),
              explicitBounds: isHttp ? HTTP_BOUNDS : RPC_BOUNDS,
            },
          ],
        },
      });
      this.counts.points++;
    }
    this.hist.clear();
  }

  private resourceMetrics(m: number, rng: Rng) {
    const t = m + MINUTE;
    const load = dailyLoad(m);
    for (const spec of this.ws.services) {
      const o = this.plan.disturbance.resources?.(spec, m) ?? {};
      const cpuRequest = o.cpuRequest ?? spec.cpuRequest;
      const cpuLimit = o.cpuLimit ?? spec.cpuLimit;
      const memRequest = o.memRequest ?? spec.memRequest;
      const memLimit = o.memLimit ?? spec.memLimit;
      for (let pod = 0; pod < spec.replicas; pod++) {
        if (this.plan.disturbance.down?.(spec.name, pod, t - 1)) continue;
        const demand = spec.cpuUsage * (0.45 + 0.55 * load) * (o.cpuDemand ?? 1) * (1 + 0.07 * rng.normal());
        const cpu = Math.max(0.001, Math.min(demand, cpuLimit * 0.97));
        const mem = o.memBytes?.(pod) ?? spec.memUsage * (1 + 0.025 * rng.normal());
        const restarts = o.restarts?.(pod) ?? 0;
        const podStart = this.podStart(spec.name, pod, m);
        const minutesUp = Math.max(1, (t - podStart) / MINUTE);
        const periods = Math.round(600 * minutesUp);
        // Cumulative: a trickle all along, plus the scenario's throttling since it began (or since the pod started).
        const since = o.throttling ? Math.max(o.throttling.since, podStart) : t;
        const throttled = Math.round(periods * 0.004 + 600 * (o.throttling?.ratio ?? 0) * Math.max(0, (t - since) / MINUTE));
        const gauge = (name: string, unit: string, value: number) => ({
          name,
          unit,
          gauge: { dataPoints: [{ timeUnixNano: ns(t), asDouble: value, attributes: [] }] },
        });
        const counter = (name: string, value: number) => ({
          name,
          unit: '1',
          sum: {
            aggregationTemporality: 2,
            isMonotonic: true,
            dataPoints: [
              { startTimeUnixNano: ns(podStart), timeUnixNano: ns(t), asInt: String(value), attributes: attrs({ container: spec.name }) },
            ],
          },
        });
        this.bucket(spec.name, pod, m).metrics.push(
          gauge('k8s.pod.cpu.usage', '{cpu}', round(cpu, 4)),
          gauge('k8s.pod.memory.working_set', 'By', Math.round(mem)),
          gauge('k8s.container.cpu_request', '{cpu}', cpuRequest),
          gauge('k8s.container.cpu_limit', '{cpu}', cpuLimit),
          gauge('k8s.container.memory_request', 'By', memRequest),
          gauge('k8s.container.memory_limit', 'By', memLimit),
          gauge('k8s.container.restarts', '{restart}', restarts),
          counter('container_cpu_cfs_periods_total', periods),
          counter('container_cpu_cfs_throttled_periods_total', throttled),
        );
        this.counts.points += 9;
      }
    }
  }

  /** When the pod's current container started: its generation's rollout, or two days before the fault. */
  private podStart(service: string, pod: number, t: number): number {
    const gen = this.generation(service, t);
    let start = this.plan.faultStart - 2 * 24 * 60 * MINUTE - pod * 7 * MINUTE;
    if (gen > 0) {
      // Search back minute by minute for the rollout (bounded: rollouts are within the window).
      let s = t;
      while (s > t - 48 * 60 * MINUTE && this.generation(service, s - MINUTE) === gen) s -= MINUTE;
      start = s;
    }
    return start;
  }

  batch(): TelemetryBatch {
    const resourceLogs: TelemetryBatch['logs']['resourceLogs'] = [];
    const resourceSpans: TelemetryBatch['traces']['resourceSpans'] = [];
    const resourceMetrics: TelemetryBatch['metrics']['resourceMetrics'] = [];
    for (const b of this.resources.values()) {
      if (b.logs.size)
        resourceLogs.push({ resource: b.resource, scopeLogs: [...b.logs].map(([name, logRecords]) => ({ scope: { name }, logRecords })) });
      if (b.spans.length)
        resourceSpans.push({
          resource: b.resource,
          scopeSpans: [{ scope: { name: 'hks-demo/instrumentation', version: '1.0.0' }, spans: b.spans }],
        });
      if (b.metrics.length)
        resourceMetrics.push({
          resource: b.resource,
          scopeMetrics: [{ scope: { name: 'hks-demo/metrics', version: '1.0.0' }, metrics: b.metrics }],
        });
    }
    return { logs: { resourceLogs }, traces: { resourceSpans }, metrics: { resourceMetrics }, counts: this.counts };
  }
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

function requestVars(rng: Rng): Record<string, string> {
  return {
    session: rng.hex(12),
    order: `${rng.hex(8)}-${rng.hex(4)}`,
    user: rng.pick(CUSTOMERS),
    ip: `${rng.pick(['81.2', '92.40', '145.14', '176.9', '62.31'])}.${rng.int(250) + 1}.${rng.int(250) + 1}`,
    product: rng.pick(PRODUCTS),
    currency: rng.pick(CURRENCIES),
  };
}

function fill(text: string, req: Request, rng: Rng, ms: number): string {
  return text.replace(/\{(\w+)\}/g, (_, k: string) => {
    switch (k) {
      case 'qty':
        return String(1 + rng.int(4));
      case 'amount':
        return (5 + rng.next() * 240).toFixed(2);
      case 'tx':
        return `txn_${rng.hex(14)}`;
      case 'tracking':
        return `${rng.pick(['1Z', 'JD', 'RR'])}${rng.hex(10).toUpperCase()}`;
      case 'email':
        return `${req.vars.user ?? 'customer'}@example.com`;
      case 'ms':
        return String(Math.round(ms));
      case 'slowms':
        return String(900 + rng.int(900));
      case 'n':
        return String(2 + rng.int(400));
      case 'm':
        return String(rng.int(20));
      case 'zone':
        return rng.pick(['eu-west', 'us-east', 'ap-south']);
      case 'asset':
        return rng.pick(['app.js', 'main.css', 'logo.svg']);
      case 'report':
        return `r-${rng.int(90) + 10}`;
      default:
        return req.vars[k] ?? k;
    }
  });
}

/** Telemetry for [from, to): both ends are rounded down to whole minutes. */
export function simulate(plan: SimulationPlan, from: number, to: number): TelemetryBatch {
  const world = new World(plan);
  const start = Math.floor(from / MINUTE) * MINUTE;
  const end = Math.floor(to / MINUTE) * MINUTE;
  for (let m = start; m < end; m += MINUTE) world.minute(m);
  return world.batch();
}
