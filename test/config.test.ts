import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ConfigError, loadConfig } from '../src/config/env.ts';
import { parseDuration } from '../src/core/duration.ts';
import { ROLE_NAMES, ROLES } from '../src/core/roles.ts';
import { loadPolicies, PolicyError } from '../src/policies/load.ts';

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

describe('the role registry', () => {
  it('is what the README role table lists, each role with its line', () => {
    const readme = fs.readFileSync('README.md', 'utf8');
    const table = readme.slice(readme.indexOf('| role | grants |'));
    const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
    const named = rows.flatMap((r) => [...(r.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
    expect([...named].sort()).toEqual([...ROLE_NAMES].sort());
    for (const [role, line] of Object.entries(ROLES)) expect(line.length, role).toBeGreaterThan(10);
  });

  it('holds every role the shipped policies name', () => {
    expect(() => loadPolicies('policies')).not.toThrow();
  });

  it('stops the start on a policy naming an unknown role, with the file and field named', () => {
    type Doc = Record<string, unknown>;
    const cases: [string, (d: Doc) => void, RegExp][] = [
      [
        'routing.yaml',
        (d) => (d.read_others_roles = ['admin', 'sre_lead']),
        /routing\.yaml: read_others_roles\[1\]: unknown role "sre_lead"; the roles are ingest, /,
      ],
      [
        'tools.yaml',
        (d) => ((d.roles as Doc).log_search = ['sre', 'oncall']),
        /tools\.yaml: roles\.log_search\[1\]: unknown role "oncall"/,
      ],
      ['alerts.yaml', (d) => (d.investigate_roles = ['sre', 'robot']), /alerts\.yaml: investigate_roles\[1\]: unknown role "robot"/],
      [
        'slack.yaml',
        (d) => (d.users = { U0123ABCD: { workspace: 'shop', roles: ['reader'] } }),
        /slack\.yaml: users\.U0123ABCD\.roles\[0\]: unknown role "reader"/,
      ],
      ['remediate.yaml', (d) => (d.audit_roles = ['auditors']), /remediate\.yaml: audit_roles\[0\]: unknown role "auditors"/],
    ];
    for (const [file, change, detail] of cases) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiops-policies-'));
      for (const f of fs.readdirSync('policies')) fs.copyFileSync(path.join('policies', f), path.join(dir, f));
      const doc = parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Doc;
      change(doc);
      fs.writeFileSync(path.join(dir, file), stringify(doc));
      expect(() => loadPolicies(dir), file).toThrow(PolicyError);
      expect(() => loadPolicies(dir), file).toThrow(detail);
    }
  });
});
