import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layers of src/ (ground floor first) are the noRestrictedImports
 * overrides of biome.json: each names its folders and forbids every folder of
 * the layers above. `npm run lint` enforces them; these tests keep the table
 * whole and show that an upward import fails.
 */
interface Override {
  includes: string[];
  linter: { rules: { style: { noRestrictedImports: { options: { patterns: { group: string[] }[] } } } } };
}
const overrides = (JSON.parse(fs.readFileSync('biome.json', 'utf8')).overrides as Override[]).filter(
  (o) => o.linter?.rules?.style?.noRestrictedImports,
);
const folderOf = (glob: string) => /^(?:src\/|\*\*\/)([^/]+)\/\*\*$/.exec(glob)?.[1] ?? glob;
const layers = overrides.map((o) => o.includes.map(folderOf));
const forbidden = overrides.map((o) => o.linter.rules.style.noRestrictedImports.options.patterns.flatMap((p) => p.group.map(folderOf)));
// The top layer has no override of its own: it is what the layer below it forbids and no layer includes.
const top = forbidden.at(-1)!.filter((f) => !layers.flat().includes(f));
const table = [...layers, top];

/** Lints one probe file at a path of src/ with the project's configuration, in a scratch folder. */
function lint(file: string, source: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layering-'));
  fs.copyFileSync('biome.json', path.join(dir, 'biome.json'));
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), source);
  const bin = path.resolve('node_modules/.bin/biome');
  const r = spawnSync(bin, ['lint', '--config-path', dir, '--vcs-enabled=false', file], { cwd: dir, encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('layering', () => {
  it('puts every folder of src/ in exactly one layer', () => {
    const folders = fs
      .readdirSync('src', { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    expect(folders.filter((f) => !table.flat().includes(f))).toEqual([]);
    expect(new Set(table.flat()).size).toBe(table.flat().length);
  });

  it('forbids each layer exactly the layers above it', () => {
    for (const [i, f] of forbidden.entries())
      expect([...f].sort()).toEqual(
        table
          .slice(i + 1)
          .flat()
          .sort(),
      );
  });

  it('fails an upward import and passes a downward one', () => {
    const upward = lint('src/core/probe.ts', "import { runContext } from '../agents/context.ts';\nexport const probe = runContext;\n");
    expect(upward.status).not.toBe(0);
    expect(upward.output).toContain('layering: src/{core}');
    const deep = lint(
      'src/tools/telemetry/probe.ts',
      "import type { ChatService } from '../../conversations/chat.ts';\nexport type Probe = ChatService;\n",
    );
    expect(deep.status).not.toBe(0);
    const downward = lint('src/cli/probe.ts', "import { runContext } from '../agents/context.ts';\nexport const probe = runContext;\n");
    expect(downward.status, downward.output).toBe(0);
  });
});
