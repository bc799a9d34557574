import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/env.ts';
import { parseDuration } from '../src/core/duration.ts';

describe('configuration', () => {
  it('starts from documented defaults', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(8080);
    expect(c.AIOPS_DATA_DIR).toBe('./data');
    expect(c.TENANT_ATTRIBUTE).toBe('k8s.namespace.name');
    expect(c.AUTH_ALGORITHMS).toEqual(['EdDSA', 'ES256']);
    expect(c.devAuth).toBe(true);
    expect(c.demo).toBe('live');
    expect(c.serviceUrl).toBe('http://127.0.0.1:8080');
  });

  it('names every wrong variable', () => {
    try {
      loadConfig({
        PORT: 'eighty',
        AUTH_ALGORITHMS: 'HS256',
        CLICKHOUSE_URL: 'not a url',
        AUTH_MAX_TOKEN_AGE: 'forever',
        LOG_LEVEL: 'loud',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const vars = (err as ConfigError).problems.map((p) => p.variable).sort();
      expect(vars).toEqual(['AUTH_ALGORITHMS', 'AUTH_MAX_TOKEN_AGE', 'CLICKHOUSE_URL', 'LOG_LEVEL', 'PORT']);
      expect((err as Error).message).toContain('PORT');
      expect((err as Error).message).toContain('only EdDSA and ES256');
    }
  });

  it('refuses two key sources at once', () => {
    expect(() => loadConfig({ AUTH_JWKS_URL: 'https://cp.example/jwks.json', AUTH_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----' })).toThrow(
      /either AUTH_JWKS_URL or AUTH_PUBLIC_KEY/,
    );
  });

  it('a ClickHouse URL turns the demo off unless asked for', () => {
    expect(loadConfig({ CLICKHOUSE_URL: 'http://ch:8123' }).demo).toBe('off');
    expect(loadConfig({ CLICKHOUSE_URL: 'http://ch:8123', AIOPS_DEMO: 'seed' }).demo).toBe('seed');
  });

  it('parses durations strictly', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    for (const bad of ['', '0m', '10', 'm', '1.5h', '1h 30m', '-5m', '1y']) expect(parseDuration(bad)).toBeUndefined();
  });
});
