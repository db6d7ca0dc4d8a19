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
  const cells = rows.map((row) => row.map((cell) => (typeof cell === 'string' ? { text: cell } : cell)));
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
        return `${paint(name.padEnd(width), 'dim', colour)}  ${paint(cell.text, cell.style, colour)}`;
      })
      .join('\n') + '\n'
  );
}

export function printJson(io: Io, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** ISO time of a store timestamp, or `-`. */
export function isoTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : new Date(ms).toISOString();
}
