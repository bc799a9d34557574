/** The simulated workspaces: services, their resources and who calls whom. */

export interface ServiceSpec {
  name: string;
  version: string;
  replicas: number;
  protocol: 'http' | 'grpc';
  /** CPU cores and memory bytes: requests and limits as deployed. */
  cpuRequest: number;
  cpuLimit: number;
  memRequest: number;
  memLimit: number;
  /** Typical usage per pod at peak traffic. */
  cpuUsage: number;
  memUsage: number;
}

interface Backend {
  /** A leaf client span to something outside the workspace's services. */
  name: string;
  system: 'redis' | 'postgresql' | 'http';
  peer: string;
  ms: number;
  statement?: string;
}

export interface Call {
  op: string;
  /** A failed critical call fails the caller; a non-critical one is logged and skipped. */
  critical: boolean;
}

export interface OperationSpec {
  id: string;
  service: string;
  protocol: 'http' | 'grpc';
  method?: string;
  route?: string;
  rpcService?: string;
  rpcMethod?: string;
  selfMs: number;
  sigma: number;
  calls: Call[];
  backend?: Backend;
  /** Success log line (template words in braces filled by the simulator) and how often it is written. */
  log?: { p: number; text: string };
  /** Writes an access-log line for every request it serves (HTTP front doors). */
  accessLog?: boolean;
}

interface EntryPoint {
  op: string;
  /** Requests per minute at the daily peak. */
  perMinute: number;
}

interface BackgroundLog {
  service: string;
  /** Mean occurrences per minute. */
  rate: number;
  severity: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  text: string;
}

export interface WorkspaceSpec {
  name: string;
  services: ServiceSpec[];
  operations: OperationSpec[];
  entries: EntryPoint[];
  background: BackgroundLog[];
  /** A harmless rollout some hours before the incident window: changes happen all the time. */
  routineDeploy?: { service: string; fromVersion: string; toVersion: string; minutesBeforeFault: number };
}

const Mi = 1024 * 1024;

/** A service sized the way a careful team sizes it: requests about twice the typical use, limits above that. */
const svc = (name: string, protocol: 'http' | 'grpc', version: string, r: Partial<ServiceSpec> = {}): ServiceSpec => {
  const cpuUsage = r.cpuUsage ?? 0.09;
  const memUsage = r.memUsage ?? 160 * Mi;
  const cpuRequest = Math.max(0.05, Math.round(cpuUsage * 2 * 20) / 20);
  const memRequest = Math.ceil((memUsage * 1.6) / (32 * Mi)) * 32 * Mi;
  return {
    name,
    version,
    protocol,
    replicas: 2,
    cpuUsage,
    memUsage,
    cpuRequest,
    cpuLimit: cpuRequest * 2.5,
    memRequest,
    memLimit: memRequest * 2,
    ...r,
  };
};

const grpc = (
  service: string,
  rpcService: string,
  rpcMethod: string,
  selfMs: number,
  extra: Partial<OperationSpec> = {},
): OperationSpec => ({
  id: `${service}.${rpcMethod}`,
  service,
  protocol: 'grpc',
  rpcService,
  rpcMethod,
  selfMs,
  sigma: 0.35,
  calls: [],
  ...extra,
});

const http = (service: string, method: string, route: string, selfMs: number, extra: Partial<OperationSpec> = {}): OperationSpec => ({
  id: `${service}.${method} ${route}`,
  service,
  protocol: 'http',
  accessLog: true,
  method,
  route,
  selfMs,
  sigma: 0.4,
  calls: [],
  ...extra,
});

export const SHOP: WorkspaceSpec = {
  name: 'shop',
  services: [
    svc('frontend', 'http', '3.2.0', { replicas: 3, cpuUsage: 0.32, memUsage: 330 * Mi }),
    svc('checkout', 'grpc', '1.14.3', { cpuUsage: 0.11, memUsage: 140 * Mi }),
    svc('payment', 'grpc', '2.4.1', { cpuUsage: 0.08, memUsage: 120 * Mi }),
    svc('cart', 'grpc', '1.8.2', { cpuUsage: 0.1, memUsage: 170 * Mi, memLimit: 512 * Mi }),
    svc('product-catalog', 'grpc', '1.6.0', { cpuUsage: 0.12, memUsage: 190 * Mi }),
    svc('currency', 'grpc', '1.3.5', { cpuUsage: 0.14, cpuLimit: 1, memUsage: 90 * Mi }),
    svc('shipping', 'grpc', '1.2.9', { replicas: 1, cpuUsage: 0.05, memUsage: 80 * Mi }),
    svc('email', 'grpc', '1.1.4', { replicas: 1, cpuUsage: 0.04, memUsage: 110 * Mi }),
    svc('recommendation', 'grpc', '2.0.7', { cpuUsage: 0.13, memUsage: 380 * Mi }),
    svc('ad', 'grpc', '1.9.0', { replicas: 1, cpuUsage: 0.06, memUsage: 210 * Mi }),
  ],
  operations: [
    http('frontend', 'GET', '/', 14, {
      calls: [
        { op: 'product-catalog.ListProducts', critical: true },
        { op: 'currency.GetSupportedCurrencies', critical: false },
        { op: 'ad.GetAds', critical: false },
      ],
    }),
    http('frontend', 'GET', '/product/{id}', 12, {
      calls: [
        { op: 'product-catalog.GetProduct', critical: true },
        { op: 'currency.Convert', critical: true },
        { op: 'recommendation.ListRecommendations', critical: false },
        { op: 'ad.GetAds', critical: false },
      ],
    }),
    http('frontend', 'GET', '/cart', 10, {
      calls: [
        { op: 'cart.GetCart', critical: true },
        { op: 'currency.Convert', critical: true },
        { op: 'shipping.GetQuote', critical: false },
      ],
    }),
    http('frontend', 'POST', '/api/cart', 8, {
      calls: [{ op: 'cart.AddItem', critical: true }],
      log: { p: 0.3, text: 'added {qty} x {product} to cart of session {session}' },
    }),
    http('frontend', 'POST', '/api/checkout', 15, {
      calls: [{ op: 'checkout.PlaceOrder', critical: true }],
      log: { p: 1, text: 'order {order} confirmed for session {session}' },
    }),
    http('frontend', 'POST', '/login', 35, { sigma: 0.25, log: { p: 1, text: 'login succeeded for user {user} from {ip}' } }),
    grpc('checkout', 'shop.CheckoutService', 'PlaceOrder', 6, {
      calls: [
        { op: 'cart.GetCart', critical: true },
        { op: 'product-catalog.GetProduct', critical: true },
        { op: 'currency.Convert', critical: true },
        { op: 'shipping.GetQuote', critical: true },
        { op: 'payment.Charge', critical: true },
        { op: 'shipping.ShipOrder', critical: true },
        { op: 'email.SendOrderConfirmation', critical: false },
        { op: 'cart.EmptyCart', critical: false },
      ],
      log: { p: 1, text: 'order {order} placed: {qty} items, total {amount} {currency}' },
    }),
    grpc('payment', 'shop.PaymentService', 'Charge', 9, {
      backend: { name: 'POST /v1/charges', system: 'http', peer: 'api.payments.example', ms: 48 },
      log: { p: 1, text: 'charge approved for order {order}: {amount} {currency} (transaction {tx})' },
    }),
    grpc('cart', 'shop.CartService', 'GetCart', 1.5, {
      backend: { name: 'HGETALL', system: 'redis', peer: 'redis-cart', ms: 0.8, statement: 'HGETALL cart:{session}' },
    }),
    grpc('cart', 'shop.CartService', 'AddItem', 1.8, {
      backend: { name: 'HSET', system: 'redis', peer: 'redis-cart', ms: 0.9, statement: 'HSET cart:{session}' },
    }),
    grpc('cart', 'shop.CartService', 'EmptyCart', 1.2, {
      backend: { name: 'DEL', system: 'redis', peer: 'redis-cart', ms: 0.6, statement: 'DEL cart:{session}' },
    }),
    grpc('product-catalog', 'shop.ProductCatalogService', 'GetProduct', 2.5, {
      backend: {
        name: 'SELECT products',
        system: 'postgresql',
        peer: 'catalog-db',
        ms: 3.5,
        statement: 'SELECT id, name, price_units, price_nanos FROM products WHERE id = $1',
      },
    }),
    grpc('product-catalog', 'shop.ProductCatalogService', 'ListProducts', 3, {
      backend: {
        name: 'SELECT products',
        system: 'postgresql',
        peer: 'catalog-db',
        ms: 9,
        statement: 'SELECT id, name, categories FROM products ORDER BY popularity LIMIT $1',
      },
    }),
    grpc('currency', 'shop.CurrencyService', 'Convert', 2.2, { sigma: 0.25 }),
    grpc('currency', 'shop.CurrencyService', 'GetSupportedCurrencies', 0.8, { sigma: 0.25 }),
    grpc('shipping', 'shop.ShippingService', 'GetQuote', 3.2),
    grpc('shipping', 'shop.ShippingService', 'ShipOrder', 5.5, { log: { p: 1, text: 'shipment {tracking} created for order {order}' } }),
    grpc('email', 'shop.EmailService', 'SendOrderConfirmation', 24, {
      log: { p: 1, text: 'order confirmation for {order} sent to {email}' },
    }),
    grpc('recommendation', 'shop.RecommendationService', 'ListRecommendations', 6, {
      calls: [{ op: 'product-catalog.ListProducts', critical: true }],
    }),
    grpc('ad', 'shop.AdService', 'GetAds', 4),
  ],
  entries: [
    { op: 'frontend.GET /', perMinute: 26 },
    { op: 'frontend.GET /product/{id}', perMinute: 40 },
    { op: 'frontend.GET /cart', perMinute: 12 },
    { op: 'frontend.POST /api/cart', perMinute: 11 },
    { op: 'frontend.POST /api/checkout', perMinute: 8 },
    { op: 'frontend.POST /login', perMinute: 5 },
  ],
  background: [
    {
      service: 'product-catalog',
      rate: 0.15,
      severity: 'WARN',
      text: 'slow query: SELECT id, name, categories FROM products ORDER BY popularity took {slowms}ms',
    },
    { service: 'ad', rate: 0.1, severity: 'WARN', text: "deprecated request field 'context_keys' used by client frontend" },
    { service: 'currency', rate: 0.05, severity: 'INFO', text: 'exchange rates refreshed from reference feed ({n} currencies)' },
    { service: 'shipping', rate: 0.2, severity: 'WARN', text: 'quote cache miss for zone {zone}; recomputing' },
    { service: 'email', rate: 0.03, severity: 'WARN', text: 'SMTP connection reset by relay, retrying in {n}s' },
    { service: 'frontend', rate: 0.5, severity: 'INFO', text: 'GET /static/{asset} 200' },
    { service: 'recommendation', rate: 0.08, severity: 'INFO', text: 'model cache warmed: {n} products' },
    { service: 'cart', rate: 0.04, severity: 'INFO', text: 'redis connection pool: {n} active, {m} idle' },
  ],
  routineDeploy: { service: 'ad', fromVersion: '1.8.4', toVersion: '1.9.0', minutesBeforeFault: 170 },
};

export const ANALYTICS: WorkspaceSpec = {
  name: 'analytics',
  services: [
    svc('ingest-gateway', 'http', '0.9.3', { cpuUsage: 0.18, memUsage: 200 * Mi }),
    svc('stream-processor', 'grpc', '4.2.1', { replicas: 3, cpuUsage: 0.35, memUsage: 900 * Mi }),
    svc('warehouse-loader', 'grpc', '2.7.0', { replicas: 1, cpuUsage: 0.12, memUsage: 300 * Mi }),
    svc('query-api', 'http', '1.5.2', { cpuUsage: 0.1, memUsage: 240 * Mi }),
    svc('scheduler', 'grpc', '0.4.8', { replicas: 1, cpuUsage: 0.03, memUsage: 70 * Mi }),
  ],
  operations: [
    http('ingest-gateway', 'POST', '/v1/events', 4, { calls: [{ op: 'stream-processor.Process', critical: true }] }),
    grpc('stream-processor', 'analytics.StreamProcessor', 'Process', 7, { calls: [{ op: 'warehouse-loader.Load', critical: false }] }),
    grpc('warehouse-loader', 'analytics.WarehouseLoader', 'Load', 5, {
      backend: {
        name: 'INSERT events',
        system: 'postgresql',
        peer: 'warehouse-db',
        ms: 12,
        statement: 'INSERT INTO events_raw VALUES ($1, $2, $3)',
      },
    }),
    http('query-api', 'GET', '/v1/reports/{id}', 20, {
      backend: {
        name: 'SELECT report',
        system: 'postgresql',
        peer: 'warehouse-db',
        ms: 85,
        statement: 'SELECT day, sum(value) FROM events_daily WHERE report_id = $1 GROUP BY day',
      },
      log: { p: 0.5, text: 'report {report} rendered ({n} rows)' },
    }),
    grpc('scheduler', 'analytics.Scheduler', 'RunJob', 30, {
      calls: [{ op: 'warehouse-loader.Load', critical: true }],
      log: { p: 1, text: 'job compact-partitions finished in {ms}ms' },
    }),
  ],
  entries: [
    { op: 'ingest-gateway.POST /v1/events', perMinute: 30 },
    { op: 'query-api.GET /v1/reports/{id}', perMinute: 6 },
    { op: 'scheduler.RunJob', perMinute: 0.5 },
  ],
  background: [
    { service: 'stream-processor', rate: 0.2, severity: 'INFO', text: 'checkpoint committed at offset {n}' },
    { service: 'query-api', rate: 0.05, severity: 'WARN', text: 'report cache evicted {n} entries under memory pressure' },
    { service: 'scheduler', rate: 0.02, severity: 'INFO', text: 'next run of vacuum-staging scheduled in {n} minutes' },
  ],
};

export const WORKSPACES: Record<string, WorkspaceSpec> = { shop: SHOP, analytics: ANALYTICS };
