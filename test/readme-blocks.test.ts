import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assignedVariables, shellBlocks } from '../scripts/readme-blocks.ts';

describe('the README shell blocks that readme:check pastes', () => {
  it('are the sh, bash and shell fences, in order, with their line; skip-check ones are marked', () => {
    const md = [
      '# Title', // 1
      '```sh', // 2
      'TOKEN=$(bin/aiops token --sub a)', // 3
      'curl -s http://127.0.0.1:8080/readyz', // 4
      '```', // 5
      '```yaml', // 6
      'receivers: []', // 7
      '```', // 8
      '```sh skip-check', // 9
      'npm install', // 10
      '```', // 11
      '  ~~~~bash', // 12
      '  echo "``` inside"', // 13
      '   echo three', // 14
      '  ~~~', // 15
      'still inside: the fence above is shorter', // 16
      '  ~~~~', // 17
      '```', // 18
      'an unclosed fence runs to the end and is not a block', // 19
    ].join('\n');
    const blocks = shellBlocks(md);
    expect(blocks.map((b) => [b.index, b.line, b.info, b.run])).toEqual([
      [1, 2, 'sh', true],
      [2, 9, 'sh skip-check', false],
      [3, 12, 'bash', true],
    ]);
    expect(blocks[0]!.code).toBe('TOKEN=$(bin/aiops token --sub a)\ncurl -s http://127.0.0.1:8080/readyz');
    expect(blocks[2]!.code).toBe('echo "``` inside"\n echo three\n~~~\nstill inside: the fence above is shorter');
  });

  it('finds the variables a block assigns', () => {
    expect(assignedVariables('A=1\n  export B="x"\necho C=2\nA=$(date)\nD_2=$A')).toEqual(['A', 'B', 'D_2']);
  });

  it('in the README: some are pasted, installs, tests and benchmarks are not, and no two examples assign the same variable', () => {
    const blocks = shellBlocks(fs.readFileSync('README.md', 'utf8'));
    const pasted = blocks.filter((b) => b.run);
    expect(pasted.length).toBeGreaterThan(4);
    for (const b of blocks.filter((x) => /npm (install|ci|test)\b|npm run bench|vitest/.test(x.code))) {
      expect(b.run, `line ${b.line}`).toBe(false);
    }
    // An example that reuses a variable of an earlier one breaks the examples pasted after it.
    const owner = new Map<string, number>();
    for (const b of pasted) {
      for (const name of assignedVariables(b.code)) {
        expect(owner.get(name), `${name} is assigned in the blocks at lines ${owner.get(name)} and ${b.line}`).toBeUndefined();
        owner.set(name, b.line);
      }
    }
  });
});
