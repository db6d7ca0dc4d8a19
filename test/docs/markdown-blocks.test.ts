import { describe, expect, it } from 'vitest';
import { codeBlocks } from './markdown-blocks.ts';

const page = (...lines: string[]): string => lines.join('\n');

describe('codeBlocks', () => {
  it('takes ts and js blocks with their line and mode, and leaves other languages alone', () => {
    const blocks = codeBlocks(
      'page.md',
      page(
        '# Title',
        '```sh',
        'npm test',
        '```',
        '<!-- example: run -->',
        '<!-- prettier-ignore -->',
        '```ts',
        'const a = 1;',
        '```',
        '',
        '```js',
        'const b = 2;',
        '```',
      ),
    );
    expect(blocks).toEqual([
      { file: 'page.md', line: 7, language: 'ts', mode: 'run', reason: undefined, code: 'const a = 1;' },
      { file: 'page.md', line: 11, language: 'js', mode: 'check', reason: undefined, code: 'const b = 2;' },
    ]);
  });

  it('keeps a skip reason, and refuses a skip without one', () => {
    const [skipped] = codeBlocks('p.md', page('<!-- example: skip: a skeleton -->', '```ts', '...', '```'));
    expect(skipped).toMatchObject({ mode: 'skip', reason: 'a skeleton' });
    expect(() => codeBlocks('p.md', page('<!-- example: skip -->', '```ts', 'x', '```'))).toThrow(
      /must say why/,
    );
  });

  it('refuses an unknown marker and a marker on a block that is not an example', () => {
    expect(() => codeBlocks('p.md', page('<!-- example: later -->', '```ts', 'x', '```'))).toThrow(
      /p.md:1: unknown example marker/,
    );
    expect(() => codeBlocks('p.md', page('<!-- example: run -->', '```sh', 'ls', '```'))).toThrow(/sh block/);
  });

  it('reads a marker only from the comments right above the fence', () => {
    const [block] = codeBlocks('p.md', page('<!-- example: run -->', 'Some text.', '```ts', 'x', '```'));
    expect(block?.mode).toBe('check');
  });

  it('strips the indentation of a fence in a list, and does not read code as fences', () => {
    const blocks = codeBlocks(
      'p.md',
      page('- item', '  ```ts', '  const s = `', '  ```x', '  `;', '  ```', '```ts', 'y', '```'),
    );
    expect(blocks.map((block) => block.code)).toEqual(['const s = `\n```x\n`;', 'y']);
  });
});
