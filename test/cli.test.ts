import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, serveCli, type ServeHandle } from './helpers/cli.ts';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './helpers/service.ts';

describe('the aiops CLI against a running service', () => {
  const dataDir = tempDir();
  const env = { AIOPS_DATA_DIR: dataDir, AIOPS_DEMO: 'seed', AIOPS_DEMO_HOURS: '0.5', LOG_LEVEL: 'info' };
  let serve: ServeHandle;

  beforeAll(async () => {
    serve = await serveCli(env);
  });
  afterAll(async () => {
    if (serve.child.exitCode === null) await serve.stop();
  });

  it('starts on an empty data folder with demo data and says how to get a token', async () => {
    expect(serve.output()).toContain('DEV MODE');
    expect(serve.output()).toContain('bin/aiops token --sub alice --workspace shop --roles sre,approver');
    const ready = await fetch(`${serve.url}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('prints a token and nothing else, which the service accepts', async () => {
    const r = await runCli(['token', '--sub', 'alice', '--workspace', 'shop', '--roles', 'sre,approver'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const res = await fetch(`${serve.url}/v1/whoami`, { headers: { Authorization: `Bearer ${r.stdout.trim()}` } });
    expect(await res.json()).toEqual({ sub: 'alice', roles: ['sre', 'approver'], workspaces: ['shop'], workspace: 'shop' });
  });

  it('loads a scenario through the running service (the store is locked to it)', async () => {
    const r = await runCli(['demo', 'seed', '--scenario', 'cart-oom-crashloop', '--seed', '3', '--hours', '1'], {
      ...env,
      AIOPS_URL: serve.url,
    });
    expect(r.stderr).toContain('through the running service');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { scenario: string; groundTruth: { rootService: string }; records: { spans: number } };
    expect(result.scenario).toBe('cart-oom-crashloop');
    expect(result.groundTruth.rootService).toBe('cart');
    expect(result.records.spans).toBeGreaterThan(1000);
    const state = await runCli(['demo', 'state'], { ...env, AIOPS_URL: serve.url });
    expect(JSON.parse(state.stdout).workspaces.find((w: { workspace: string }) => w.workspace === 'shop').scenario).toBe(
      'cart-oom-crashloop',
    );
  });

  it('runs a telemetry tool through the service and lists the tools', async () => {
    const r = await runCli(['tool', 'recent_changes', '{"last":"1h"}', '--text'], { ...env, AIOPS_URL: serve.url });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^recent_changes shop /);
    const list = await runCli(['tool'], { ...env, AIOPS_URL: serve.url });
    expect(list.stdout).toMatch(/^service_overview /m);
    const bad = await runCli(['tool', 'service_overview', '{"last":"eventually"}'], { ...env, AIOPS_URL: serve.url });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/failed with 400: .*\n\s+last: expected a duration/);
  });

  it('chats through the service, with progress on stderr and the answer on stdout', async () => {
    // The scenario loaded by the test above is cart-oom-crashloop.
    const r = await runCli(['chat', 'why do customers get errors?'], { ...env, AIOPS_URL: serve.url });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/routed to sre/);
    expect(r.stderr).toMatch(/sre: service_overview…/);
    expect(r.stderr).toMatch(/path: deterministic/);
    expect(r.stdout).toMatch(/^Likely cause: cart runs out of memory/);
    const thread = /thread ([0-9a-f-]{36})/.exec(r.stderr)![1]!;
    const again = await runCli(['chat', '--thread', thread, 'and checkout?'], { ...env, AIOPS_URL: serve.url });
    expect(again.stderr).toContain(`thread ${thread} (turn 2)`);
  });

  it('explains bad arguments without a stack trace', async () => {
    const r = await runCli(['demo', 'seed', '--scenario', 'nope'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown scenario "nope"; choose one of/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('indexes a folder of someone else’s runbooks through the API; a second run changes nothing; a broken file stops it before sending', async () => {
    const folder = path.join(tempDir('aiops-runbooks-'), 'team-runbooks');
    fs.mkdirSync(path.join(folder, 'db'), { recursive: true });
    fs.writeFileSync(
      path.join(folder, 'db', 'replica-lag.md'),
      '---\ntitle: Replica lag\nalerts: [PostgresReplicaLag]\n---\n# Replica lag\n\n## Mitigate\n\nThrottle the Narwhalsync batch job.\n',
    );
    fs.writeFileSync(path.join(folder, 'cache.md'), '# Cache stampede\n\nWarm the Kestrelcache before a deploy.\n');
    // A team's copy of a built-in runbook is not stored twice.
    fs.copyFileSync('runbooks/dns-failures.md', path.join(folder, 'dns.md'));
    const cli = (args: string[]) => runCli(['knowledge', ...args], { ...env, AIOPS_URL: serve.url });
    const first = await cli(['index', folder]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^added\s+team-runbooks\/cache\.md/m);
    expect(first.stdout).toMatch(/^added\s+team-runbooks\/db\/replica-lag\.md \(1 sections\)/m);
    expect(first.stdout).toMatch(/^skipped\s+team-runbooks\/dns\.md/m);
    expect(first.stderr).toContain(
      '3 documents in workspace shop: 2 added, 0 updated, 0 unchanged, 1 skipped (copies of built-in runbooks)',
    );
    expect(first.stderr).toMatch(/note: team-runbooks\/dns\.md has the same text as the built-in runbook runbooks\/dns-failures\.md/);
    const again = await cli(['index', folder]);
    expect(again.stderr).toContain('0 added, 0 updated, 2 unchanged, 1 skipped');
    const found = await cli(['search', 'Narwhalsync batch job']);
    expect(found.stdout.split('\n')[0]).toBe('team-runbooks/db/replica-lag.md#mitigate');
    expect(found.stdout.split('\n')[1]).toMatch(/\(strong match\)$/);

    fs.writeFileSync(path.join(folder, 'broken.md'), '---\ntags: {a: 1}\n---\n# Broken\n');
    fs.writeFileSync(path.join(folder, 'cache.md'), '# Cache stampede\n\nChanged text that must not be sent.\n');
    const broken = await cli(['index', folder]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/nothing was sent; fix these files first:\n\s+broken\.md: front matter field "tags"/);
    expect((await cli(['search', 'Kestrelcache'])).stdout).toMatch(/^team-runbooks\/cache\.md/);

    fs.rmSync(path.join(folder, 'broken.md'));
    fs.rmSync(path.join(folder, 'cache.md'));
    const pruned = await cli(['index', folder, '--prune']);
    expect(pruned.stdout).toMatch(/^deleted\s+team-runbooks\/cache\.md/m);
    const list = await cli(['list']);
    expect(
      list.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t')[0]),
    ).toEqual(['team-runbooks/db/replica-lag.md']);
    expect(list.stderr).toMatch(/^1 documents in workspace shop; the \d+ built-in runbooks are shared by every workspace and not listed$/m);
    // The project's own folder under its own name would take the runbooks' paths: refused before anything is written.
    const own = await cli(['index', 'runbooks']);
    expect(own.code).not.toBe(0);
    expect(own.stderr).toMatch(/documents\[0\]\.path: runbooks\/ holds the built-in runbooks/);
  });

  it('stops gracefully on SIGTERM', async () => {
    expect(await serve.stop()).toBe(0);
    expect(serve.output()).toContain('"msg":"stopped"');
  });
});

describe('aiops patterns', () => {
  it('mines a log file into template ids and a template table', async () => {
    const fs = await import('node:fs');
    const { parse } = await import('csv-parse/sync');
    const { sharedDir } = await import('./helpers/shared.ts');
    const rows = parse(fs.readFileSync(sharedDir('data', 'loghub-dev', 'HDFS', 'HDFS_2k.log_structured.csv')), { columns: true }) as {
      Content: string;
      EventId: string;
    }[];
    const file = `${tempDir()}/hdfs.txt`;
    fs.writeFileSync(file, `${rows.map((r) => r.Content).join('\n')}\n`);
    const r = await runCli(['patterns', file], {});
    expect(r.code).toBe(0);
    const out = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line?: number; template_id: number; template?: string; count?: number });
    const assigned = out.filter((o) => o.line !== undefined);
    const table = out.filter((o) => o.template !== undefined);
    expect(assigned).toHaveLength(rows.length);
    expect(table.reduce((n, t) => n + t.count!, 0)).toBe(rows.length);
    // Grouping accuracy as the LogHub benchmark defines it.
    const { groupingAccuracy } = await import('../src/tools/patterns/accuracy.ts');
    expect(
      groupingAccuracy(
        rows.map((x) => x.EventId),
        assigned.map((a) => a.template_id),
      ),
    ).toBeGreaterThan(0.99);
    // The miner takes the first two tokens as wording (as Drain does), so the varying name stands later.
    const stdin = await runCli(['patterns'], {}, 'lock taken by alice on queue\nlock taken by bob on queue\n');
    expect(stdin.stdout).toContain('"template":"lock taken by <*> on queue"');
  });
});

describe('start-up failures', () => {
  it('names the wrong variable and exits 2', async () => {
    const r = await runCli(['serve'], { PORT: 'eighty', AIOPS_DATA_DIR: tempDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PORT');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('names the policy file and field that do not validate', async () => {
    const dir = tempDir();
    const fs = await import('node:fs');
    fs.writeFileSync(`${dir}/retention.yaml`, 'wide_events:\n  sample_rate: 7\n');
    const r = await runCli(['serve'], { AIOPS_POLICIES_DIR: dir, AIOPS_DATA_DIR: tempDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/retention\.yaml: wide_events\.sample_rate: /);
  });

  it('refuses a token request outside dev mode', async () => {
    const r = await runCli(['token', '--sub', 'x'], { AUTH_JWKS_URL: 'https://cp.example/jwks.json', AIOPS_DATA_DIR: tempDir() });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/dev mode only/);
  });
});

// Each case starts the CLI as a process (about a second each on an idle machine, far more on a busy one).
describe('aiops help and arguments', { timeout: 300_000 }, () => {
  const env = { AIOPS_DATA_DIR: tempDir() };

  it('prints every command’s usage for COMMAND --help and help COMMAND, exiting 0', async () => {
    const { COMMAND_USAGE } = await import('../src/cli/usage.ts');
    const commands = Object.entries(COMMAND_USAGE);
    const runs = await Promise.all(commands.map(([name]) => runCli([name, '--help'], env)));
    for (const [i, [name, usage]] of commands.entries()) {
      const r = runs[i]!;
      expect(r.code, `${name} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout).toBe(`${usage}\n`);
      expect(usage).toMatch(new RegExp(`^usage: aiops ${name}`));
    }
    // Before the command's own options, and even where the configuration would not load.
    const token = await runCli(['token', '--sub', 'alice', '-h'], { ...env, PORT: 'eighty' });
    expect(token.code).toBe(0);
    expect(token.stdout).toBe(`${COMMAND_USAGE.token}\n`);
    const help = await runCli(['help', 'knowledge'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toBe(`${COMMAND_USAGE.knowledge}\n`);
  });

  it('prints the overview for aiops --help and aiops help, and refuses an unknown topic with 2', async () => {
    const variants = [['--help'], ['help'], []];
    const runs = await Promise.all(variants.map((args) => runCli(args, env)));
    for (const [i, args] of variants.entries()) {
      const r = runs[i]!;
      expect(r.code, args.join(' ')).toBe(0);
      for (const name of ['serve', 'token', 'demo', 'tool', 'patterns', 'anomalies', 'chat', 'knowledge']) {
        expect(r.stdout).toMatch(new RegExp(`^  aiops ${name}`, 'm'));
      }
    }
    const r = await runCli(['help', 'nope'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command "nope"/);
  });

  it('refuses unknown roles in a token request, naming them and the known ones', async () => {
    const r = await runCli(['token', '--sub', 'alice', '--workspace', 'shop', '--roles', 'sre,sre_lead', '--roles', 'oncall'], env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const { ROLE_NAMES } = await import('../src/core/roles.ts');
    expect(r.stderr).toContain(`unknown roles "sre_lead", "oncall"; the roles are ${ROLE_NAMES.join(', ')}`);
    const ok = await runCli(['token', '--sub', 'alice', '--workspace', 'shop', '--roles', 'sre-lead,knowledge-admin'], env);
    expect(ok.code).toBe(0);
  });

  it('reads standard input for patterns -', async () => {
    const r = await runCli(['patterns', '-'], {}, 'queue q1 drained by worker 3\nqueue q1 drained by worker 9\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('{"template_id":1,"count":2,"template":"queue <*> drained by worker <*>"}');
  });
});
