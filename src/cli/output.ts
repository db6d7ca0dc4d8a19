/** Where a command writes: stdout for results, stderr for diagnostics and progress. */
export interface Stream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface Io {
  readonly stdout: Stream;
  readonly stderr: Stream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export type Style = 'red' | 'green' | 'yellow' | 'cyan' | 'magenta' | 'dim' | 'bold';

const CODES: Readonly<Record<Style, readonly [number, number]>> = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
  magenta: [35, 39],
  dim: [2, 22],
  bold: [1, 22],
};

/** Colour only on a terminal, and never when NO_COLOR is set to anything non-empty (no-color.org). */
export function colourEnabled(stream: Stream, env: Io['env']): boolean {
  const noColor = env['NO_COLOR'];
  return stream.isTTY === true && (noColor === undefined || noColor === '');
}

/** The SGR sequences `paint` writes: the only escape sequences a command's output may contain. */
const OUR_SGR = new Set(
  Object.values(CODES)
    .flat()
    .map((code) => `\u001b[${code}m`),
);

/**
 * C0 controls, DEL, C1 controls (U+0080-U+009F, where U+009B is a one-byte CSI) and the bidirectional
 * overrides that reorder what a terminal shows (U+202A-U+202E, U+2066-U+2069).
 */
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const CONTROLS_BUT_LAYOUT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function visible(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Text from a store or a provider made safe for a terminal: every control character, escape (ESC, CSI,
 * OSC 52 clipboard writes, cursor moves) and bidirectional override is shown as `\xNN` / `\uNNNN`
 * instead of acting. Newlines and tabs are escaped too, so one value stays on one table line.
 */
export function terminalSafe(text: string): string {
  return text.replace(CONTROLS, visible);
}

/**
 * A stream that writes only what a terminal shows as text: newlines, tabs and the colours `paint`
 * writes pass; any other control or escape sequence in the text (a provider's answer, a stored reason)
 * is escaped. Wraps stdout and stderr for every command, behind the cell-level `terminalSafe`.
 */
export function safeStream(stream: Stream): Stream {
  const write = (text: string): unknown => {
    let out = '';
    let last = 0;
    for (let at = text.indexOf('\u001b'); at !== -1; at = text.indexOf('\u001b', last)) {
      out += text.slice(last, at).replace(CONTROLS_BUT_LAYOUT, visible);
      // Our sequences are 4 or 5 characters long (`ESC[1m`, `ESC[39m`): nothing further is looked at.
      const sequence = [text.slice(at, at + 4), text.slice(at, at + 5)].find((s) => OUR_SGR.has(s));
      if (sequence === undefined) {
        out += visible('\u001b');
        last = at + 1;
      } else {
        out += sequence;
        last = at + sequence.length;
      }
    }
    return stream.write(out + text.slice(last).replace(CONTROLS_BUT_LAYOUT, visible));
  };
  return {
    write,
    ...(stream.isTTY === undefined ? {} : { isTTY: stream.isTTY }),
    ...(stream.columns === undefined ? {} : { columns: stream.columns }),
  };
}

function paint(text: string, style: Style | undefined, enabled: boolean): string {
  if (!enabled || style === undefined) return text;
  const [open, close] = CODES[style];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

/** The colour of each record state in tables: what needs a person stands out. */
export function stateStyle(state: string): Style | undefined {
  switch (state) {
    case 'unknown':
      return 'red';
    case 'in_flight':
      return 'yellow';
    case 'succeeded':
      return 'green';
    case 'failed':
      return 'magenta';
    case 'released':
      return 'cyan';
    default:
      return undefined;
  }
}

export interface Cell {
  readonly text: string;
  readonly style?: Style | undefined;
}

/** Aligned columns, padded before colouring so escape codes never shift them. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly (Cell | string)[])[],
  colour: boolean,
): string {
  const cells = rows.map((row) =>
    row.map((cell) => {
      const { text, style } = typeof cell === 'string' ? { text: cell, style: undefined } : cell;
      return { text: terminalSafe(text), style };
    }),
  );
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...cells.map((row) => row[column]?.text.length ?? 0)),
  );
  const line = (row: readonly Cell[]): string =>
    row
      .map((cell, column) => {
        const last = column === row.length - 1;
        const padded = last ? cell.text : cell.text.padEnd(widths[column] ?? 0);
        return paint(padded, cell.style, colour);
      })
      .join('  ')
      .trimEnd();
  const head = line(headers.map((text) => ({ text, style: 'bold' as const })));
  return [head, ...cells.map(line)].join('\n') + '\n';
}

/** `key: value` lines with the keys aligned. */
export function fields(pairs: readonly (readonly [string, Cell | string])[], colour: boolean): string {
  const width = Math.max(0, ...pairs.map(([name]) => name.length));
  return (
    pairs
      .map(([name, value]) => {
        const cell = typeof value === 'string' ? { text: value } : value;
        return `${paint(name.padEnd(width), 'dim', colour)}  ${paint(terminalSafe(cell.text), cell.style, colour)}`;
      })
      .join('\n') + '\n'
  );
}

/**
 * JSON on stdout. `JSON.stringify` escapes C0 controls but not C1 ones (U+009B is a CSI to some
 * terminals) nor bidirectional overrides: those are written as `\uNNNN` escapes, still the same JSON.
 */
export function printJson(io: Io, value: unknown): void {
  const text = JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g,
    (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
  io.stdout.write(text + '\n');
}

/** ISO time of a store timestamp, or `-`. */
export function isoTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : new Date(ms).toISOString();
}
