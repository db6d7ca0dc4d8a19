/**
 * Finds the TypeScript and JavaScript code blocks of a markdown page and the marker each one carries.
 *
 * A marker is an HTML comment on the lines just before the fence (other comments such as
 * `<!-- prettier-ignore -->` may sit beside it), invisible on a rendered page:
 * - no marker: the block is type-checked;
 * - `<!-- example: run -->`: type-checked, then run (as a script, or by vitest / `node --test` when it
 *   imports them) against the local fake provider;
 * - `<!-- example: skip: why -->`: neither, and the reason is required (a skeleton with `...` holes).
 * Other fenced languages (sh, json, sql, ...) are not examples and are left alone.
 */

export type ExampleMode = 'check' | 'run' | 'skip';
export type ExampleLanguage = 'ts' | 'js';

export interface CodeBlock {
  /** The markdown file, as given. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly language: ExampleLanguage;
  readonly mode: ExampleMode;
  /** Why a skipped block is skipped. */
  readonly reason: string | undefined;
  /** The block's text, its fence's indentation removed. */
  readonly code: string;
}

const LANGUAGES: Readonly<Record<string, ExampleLanguage>> = {
  ts: 'ts',
  typescript: 'ts',
  js: 'js',
  javascript: 'js',
  mjs: 'js',
};

const FENCE = /^( *)(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/;
const COMMENT = /^\s*<!--(.*?)-->\s*$/;
const MARKER = /^\s*example:\s*(\w+)\s*(?::\s*(.*?))?\s*$/;

/** A page's blocks in order. Throws on a marker that is malformed or marks no example. */
export function codeBlocks(file: string, markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '');
    if (open === null) continue;
    const [, indent = '', fence = '', info = ''] = open;
    const end = closingLine(lines, i, fence);
    const language = LANGUAGES[info.toLowerCase()];
    const marker = markerBefore(file, lines, i);
    if (language === undefined) {
      if (marker !== undefined)
        throw new Error(`${file}:${i + 1}: an example marker on a ${info || 'plain'} block`);
    } else {
      const code = lines
        .slice(i + 1, end)
        .map((text) => (text.startsWith(indent) ? text.slice(indent.length) : text.trimStart()))
        .join('\n');
      blocks.push({
        file,
        line: i + 1,
        language,
        mode: marker?.mode ?? 'check',
        reason: marker?.reason,
        code,
      });
    }
    i = end;
  }
  return blocks;
}

function closingLine(lines: readonly string[], open: number, fence: string): number {
  for (let j = open + 1; j < lines.length; j++) {
    const text = (lines[j] ?? '').trim();
    if (text.startsWith(fence) && /^[`~]+$/.test(text) && text[0] === fence[0]) return j;
  }
  return lines.length;
}

/** The `example:` marker among the comments and blank lines right above line `fence`. */
function markerBefore(
  file: string,
  lines: readonly string[],
  fence: number,
): { mode: ExampleMode; reason: string | undefined } | undefined {
  for (let j = fence - 1; j >= 0; j--) {
    const text = lines[j] ?? '';
    if (text.trim() === '') continue;
    const comment = COMMENT.exec(text);
    if (comment === null) return undefined;
    const marker = MARKER.exec(comment[1] ?? '');
    if (marker === null) continue;
    const [, mode = '', reason] = marker;
    if (mode !== 'run' && mode !== 'skip' && mode !== 'check')
      throw new Error(`${file}:${j + 1}: unknown example marker "${mode}" (run, check or skip: why)`);
    if (mode === 'skip' && (reason === undefined || reason === ''))
      throw new Error(`${file}:${j + 1}: a skipped example must say why ("example: skip: why")`);
    return { mode, reason: reason === '' ? undefined : reason };
  }
  return undefined;
}
