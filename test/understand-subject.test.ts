import { describe, expect, it } from 'vitest';
import { findSubject } from '../src/agents/understand/subject.ts';

const services = [
  'checkout',
  'payment',
  'product-catalog',
  'frontend',
  'frontend-proxy',
  'cart',
  'shipping',
  'ad',
  'currency',
  'fraud-detection',
  'data_collector',
];
const known = { host: ['web01'], namespace: ['kube-system'], pod: ['cart-5c8d9-xk2pq'] };

describe('findSubject: services', () => {
  it.each([
    { q: 'is Checkout slow?', services: ['checkout'] },
    { q: 'CHECKOUT errors', services: ['checkout'] },
    { q: 'payments are failing', services: ['payment'] },
    { q: "what's wrong with checkout's latency", services: ['checkout'] },
    { q: 'product catalog latency', services: ['product-catalog'] },
    { q: 'the product_catalog service', services: ['product-catalog'] },
    { q: 'productcatalog errors', services: ['product-catalog'] },
    { q: 'Product-Catalog’s p95', services: ['product-catalog'] },
    { q: 'the checkout service and the checkout-service pods', services: ['checkout'] },
    { q: 'checkoutservice errors', services: ['checkout'] },
    { q: 'frontend proxy logs', services: ['frontend-proxy'] },
    { q: 'frontend-proxy vs frontend', services: ['frontend-proxy', 'frontend'] },
    { q: 'show ads', services: ['ad'] },
    { q: 'currencies conversion errors', services: ['currency'] },
    { q: 'fraud detection lag', services: ['fraud-detection'] },
    { q: 'cart then payment then cart again', services: ['cart', 'payment'] },
    { q: 'shipping, payment and checkout', services: ['shipping', 'payment', 'checkout'] },
    // not services: other words that contain their letters
    { q: 'add more carts? reshipping? frontends-proxy-x', services: ['cart'] },
    { q: 'which service has the most errors?', services: [] },
    { q: 'the paymentgateway is down', services: [] },
  ])('$q → $services', ({ q, services: expected }) => {
    expect(findSubject(q, { services }).services).toEqual(expected);
  });

  it('records the words that named the service', () => {
    const r = findSubject('is the Product Catalog slow?', { services });
    expect(r.mentions).toEqual([{ kind: 'service', name: 'product-catalog', known: true, matched: 'Product Catalog', index: 7 }]);
  });
});

describe('findSubject: hosts, pods, nodes, jobs, namespaces', () => {
  it.each([
    {
      q: 'is host infrastructure002A down?',
      entities: [{ kind: 'host', name: 'infrastructure002A', known: false, matched: 'host infrastructure002A', index: 3 }],
    },
    {
      q: 'why does pod cart-7d9f-abcde keep restarting',
      entities: [{ kind: 'pod', name: 'cart-7d9f-abcde', known: false, matched: 'pod cart-7d9f-abcde', index: 9, service: 'cart' }],
    },
    {
      q: 'job data_collector failed',
      entities: [{ kind: 'job', name: 'data_collector', known: true, matched: 'job data_collector', index: 0 }],
    },
    {
      q: 'cpu on node ip-10-0-1-5.',
      entities: [{ kind: 'node', name: 'ip-10-0-1-5', known: false, matched: 'node ip-10-0-1-5', index: 7 }],
    },
    {
      q: 'errors in the kube-system namespace',
      entities: [{ kind: 'namespace', name: 'kube-system', known: true, matched: 'kube-system namespace', index: 14 }],
    },
    {
      q: 'namespace: payments-prod',
      entities: [{ kind: 'namespace', name: 'payments-prod', known: false, matched: 'namespace: payments-prod', index: 0 }],
    },
    {
      q: 'logs of the pod named api',
      entities: [{ kind: 'pod', name: 'api', known: false, matched: 'pod named api', index: 12 }],
    },
    {
      q: 'is server `WEB01` up?',
      entities: [{ kind: 'host', name: 'web01', known: true, matched: 'server `WEB01`', index: 3 }],
    },
    {
      q: 'is web01 up?',
      entities: [{ kind: 'host', name: 'web01', known: true, matched: 'web01', index: 3 }],
    },
    {
      q: 'restarts of cart-5c8d9-xk2pq',
      entities: [{ kind: 'pod', name: 'cart-5c8d9-xk2pq', known: true, matched: 'cart-5c8d9-xk2pq', index: 12, service: 'cart' }],
    },
    {
      q: 'container frontend-proxy-6b7c-q8w2z OOM',
      entities: [
        {
          kind: 'container',
          name: 'frontend-proxy-6b7c-q8w2z',
          known: false,
          matched: 'container frontend-proxy-6b7c-q8w2z',
          index: 0,
          service: 'frontend-proxy',
        },
      ],
    },
    // kind words followed by ordinary words are not names
    { q: 'which host has the most cpu?', entities: [] },
    { q: 'host cpu usage per pod', entities: [] },
    { q: 'the noisiest pod', entities: [] },
  ])('$q', ({ q, entities }) => {
    expect(findSubject(q, { services, known }).entities).toEqual(entities);
  });

  it('lists what no telemetry names, and keeps services apart', () => {
    const r = findSubject('checkout on host infrastructure002A and host web01', { services, known });
    expect(r.services).toEqual(['checkout']);
    expect(r.unknown.map((m) => `${m.kind} ${m.name}`)).toEqual(['host infrastructure002A']);
    expect(r.mentions.map((m) => m.name)).toEqual(['checkout', 'infrastructure002A', 'web01']);
  });

  it('does not take a pod name for a mention of its service', () => {
    const r = findSubject('pod cart-7d9f-abcde', { services });
    expect(r.services).toEqual([]);
    expect(r.entities[0]?.service).toBe('cart');
  });

  it('knows a job named like a service through the service', () => {
    const r = findSubject('job data_collector failed', { services });
    expect(r.services).toEqual(['data_collector']);
    expect(r.unknown).toEqual([]);
  });

  it('marks everything unknown when the telemetry knows nothing', () => {
    const r = findSubject('pod cart-7d9f-abcde on node ip-10-0-1-5', { services: [] });
    expect(r.unknown.map((m) => m.kind)).toEqual(['pod', 'node']);
    expect(r.entities[0]?.service).toBeUndefined();
  });
});
