import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('npm run graph', () => {
  it('draws every graph from the factories the service runs', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/graph.ts'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    for (const name of ['chat', 'sre', 'security', 'efficiency', 'approval', 'briefing']) expect(r.stdout).toContain(`%% ${name}\n`);
    expect(r.stdout).toContain('route -.-> sre;');
    expect(r.stdout).toContain('await_decision -.-> send;');
    expect(r.stdout).toContain('consult --> write;');
  });

  it('refuses a graph that does not exist', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/graph.ts', 'nope'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown graph nope');
  });
});
