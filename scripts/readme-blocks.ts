/**
 * The README's shell blocks, as a person would paste them: fenced blocks whose language is sh, bash
 * or shell, in order. A block that is not meant to be pasted as it stands (it installs, runs the
 * test suite or a long benchmark) carries the word `skip-check` in its fence info: ```sh skip-check.
 * Used by scripts/readme-check.ts; kept free of side effects so a unit test can read it.
 */

export const SKIP_WORD = 'skip-check';
const SHELLS = new Set(['sh', 'bash', 'shell']);

export interface ShellBlock {
  /** 1-based position among the shell blocks. */
  index: number;
  /** 1-based line of the opening fence. */
  line: number;
  info: string;
  code: string;
  /** False when the fence info carries SKIP_WORD. */
  run: boolean;
}

/** Fenced code blocks (CommonMark: ``` or ~~~, up to three spaces of indent, closed by a fence at least as long). */
export function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: ShellBlock[] = [];
  let open: { fence: string; indent: number; line: number; info: string; body: string[] } | undefined;
  for (const [i, text] of lines.entries()) {
    if (!open) {
      const m = /^( {0,3})(`{3,}|~{3,})\s*([^`]*)$/.exec(text);
      if (m) open = { indent: m[1]!.length, fence: m[2]!, line: i + 1, info: m[3]!.trim(), body: [] };
      continue;
    }
    const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(text);
    if (close && close[1]![0] === open.fence[0] && close[1]!.length >= open.fence.length) {
      const words = open.info.split(/\s+/).filter(Boolean);
      if (SHELLS.has(words[0] ?? '')) {
        blocks.push({
          index: blocks.length + 1,
          line: open.line,
          info: open.info,
          code: open.body.join('\n'),
          run: !words.includes(SKIP_WORD),
        });
      }
      open = undefined;
      continue;
    }
    // Content lines lose as much of the fence's indent as they have.
    const strip = Math.min(open.indent, /^ */.exec(text)![0].length);
    open.body.push(text.slice(strip));
  }
  return blocks;
}

/** Shell variables a block assigns at the start of a line (`NAME=...`, `export NAME=...`). */
export function assignedVariables(code: string): string[] {
  const names = [...code.matchAll(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]!);
  return [...new Set(names)];
}
