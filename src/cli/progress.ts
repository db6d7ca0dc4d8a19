import type { Stream } from './output.ts';

const WIDTH = 30;

/** One frame of the progress bar: `[#######-------]  12/40  30%`. */
export function progressLine(done: number, total: number, label: string): string {
  const ratio = total === 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(ratio * WIDTH);
  const bar = '#'.repeat(filled) + '-'.repeat(WIDTH - filled);
  return `${label} [${bar}] ${done}/${total} ${Math.round(ratio * 100)}%`;
}

/**
 * A progress bar on stderr, drawn only when stderr is a terminal (scripts and `--json` pipelines see
 * nothing). `update` redraws in place; `finish` ends the line.
 */
export function progressBar(
  stream: Stream,
  label: string,
): { update(done: number, total: number): void; finish(): void } {
  const live = stream.isTTY === true;
  let drawn = false;
  return {
    update(done, total) {
      if (!live) return;
      stream.write(`\r${progressLine(done, total, label)}`);
      drawn = true;
    },
    finish() {
      if (live && drawn) stream.write('\n');
    },
  };
}
