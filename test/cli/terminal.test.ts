import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { safeStream, table, terminalSafe, type Io } from '../../src/cli/output.ts';
import { describeAddress, parseStoreAddress } from '../../src/cli/store-address.ts';
import { retrysafe } from '../../src/index.ts';
import { nextLink } from '../../src/providers/github-issues.ts';
import { sqliteStore } from '../../src/stores/sqlite/index.ts';

/** An OSC 52 clipboard write, a cursor move with a screen clear, a C1 CSI and a bidi override. */
const HOSTILE = '\u001b]52;c;cm0gLXJmIH4=\u0007\u001b[2J\u001b[H\u009b31m\u202eok';

function capture(isTTY = true): { io: Io; out: () => string; err: () => string } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    io: {
      stdout: { isTTY, write: (text: string) => stdout.push(text) },
      stderr: { write: (text: string) => stderr.push(text) },
      env: {},
      cwd: process.cwd(),
    },
    out: () => stdout.join(''),
    err: () => stderr.join(''),
  };
}

/** Every escape in `text` is one of the colours the CLI writes itself. */
function onlyOurColours(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  const rest = text.replace(/\u001b\[(1|2|22|31|32|33|35|36|39)m/g, '');
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(rest);
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'retrysafe-terminal-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('finding 9: provider text never acts on the operator’s terminal', () => {
  it('escapes controls, ESC sequences, OSC 52 and bidi overrides in cells and in any write', () => {
    expect(terminalSafe(HOSTILE)).toBe('\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b[2J\\x1b[H\\x9b31m\\u202eok');
    expect(onlyOurColours(table(['REASON'], [[HOSTILE]], true))).toBe(true);
    const written: string[] = [];
    const stream = safeStream({ write: (text: string) => written.push(text) });
    stream.write(`\u001b[31mred\u001b[39m ${HOSTILE}\n`);
    expect(written.join('')).toBe(`\u001b[31mred\u001b[39m ${terminalSafe(HOSTILE)}\n`);
  });

  it('ls, show and --json print a hostile reason and result as text', async () => {
    const file = path.join(dir, 'store.db');
    const store = sqliteStore({ path: file });
    const rs = retrysafe({ store, namespace: 'test' });
    const unknown = rs.operation({
      name: 'hostile',
      version: 1,
      key: (n: number) => n,
      call: () => Promise.reject(new Error(`provider answered 502: ${HOSTILE}`)),
    });
    await expect(unknown(1)).rejects.toThrow();
    const done = rs.operation({
      name: 'answer',
      version: 1,
      key: (n: number) => n,
      call: () => Promise.resolve({ note: HOSTILE }),
    });
    const { key } = await done(1);
    await store.close();

    const address = `sqlite:${file}`;
    for (const argv of [
      ['ls', '--store', address],
      ['show', key, '--store', address],
      ['show', unknown.keyOf(1), '--store', address],
      ['ls', '--json', '--store', address],
    ]) {
      const c = capture();
      await main(argv, c.io);
      expect(c.out()).toContain('52;c;');
      expect(onlyOurColours(c.out())).toBe(true);
      expect(onlyOurColours(c.err())).toBe(true);
    }
  });
});

describe('finding 9: the Link header is parsed in linear time', () => {
  it('finds the next page in ordinary headers', () => {
    const answer = (link: string) => ({ status: 200, headers: { link }, body: '' });
    expect(
      nextLink(
        answer(
          '<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=9>; rel="last"',
        ),
      ),
    ).toBe('https://api.github.com/x?page=2');
    expect(nextLink(answer('<https://a/1>; rel="prev", <https://a/3>; rel=next'))).toBe('https://a/3');
    expect(nextLink(answer('<https://a/1>; rel="prev last"'))).toBeUndefined();
    expect(nextLink(answer(''))).toBeUndefined();
  });

  it('a 64 KiB hostile header parses in milliseconds, not seconds', () => {
    const hostile = [
      '<'.repeat(65_536),
      '<a>'.repeat(21_845),
      `<${'a'.repeat(65_530)}`,
      '<a>;'.repeat(16_384),
      `<a>; rel="${'x'.repeat(65_520)}`,
    ];
    for (const link of hostile) {
      expect(link.length).toBeGreaterThanOrEqual(65_500);
      const started = performance.now();
      expect(nextLink({ status: 200, headers: { link }, body: '' })).toBeUndefined();
      // The quadratic regex took 3.3-10 s on the first; a generous bound, not a timing measurement.
      expect(performance.now() - started).toBeLessThan(200);
    }
  });
});

describe('finding 9: printed store addresses carry no secret', () => {
  it.each([
    ['postgres://u:secret@h/db', 'postgres://u:***@h/db'],
    ['postgres://h/db?password=secret&sslmode=require', 'postgres://h/db?password=***&sslmode=require'],
    ['postgres://u@h/db?sslpassword=secret', 'postgres://***@h/db?sslpassword=***'],
    ['redis://:secret@h:6379/0', 'redis://:***@h:6379/0'],
    ['rediss://tok_secret@h:6380', 'rediss://***@h:6380'],
    ['redis://h:6379?token=secret', 'redis://h:6379?token=***'],
  ])('%s', (address, shown) => {
    const text = describeAddress(parseStoreAddress(address));
    expect(text).toBe(shown);
    expect(text).not.toContain('secret');
  });
});
