/** A small SVG line chart, written by hand so the benchmark needs no charting dependency. */
export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Logarithmic x axis (record counts spanning decades). */
  readonly logX?: boolean;
  /** Labels of the x ticks; default the points' x values. */
  readonly xTickLabel?: (x: number) => string;
}

const WIDTH = 640;
const HEIGHT = 380;
const MARGIN = { top: 40, right: 150, bottom: 50, left: 70 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

const escape = (text: string): string =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function compact(n: number): string {
  if (n >= 1e6) return `${n / 1e6}M`;
  if (n >= 1e3) return `${n / 1e3}k`;
  return String(Number(n.toPrecision(3)));
}

export function lineChart(chart: LineChart): string {
  const xs = [...new Set(chart.series.flatMap((s) => s.points.map(([x]) => x)))].sort((a, b) => a - b);
  const ys = chart.series.flatMap((s) => s.points.map(([, y]) => y)).filter((y) => Number.isFinite(y));
  const yMax = niceMax(Math.max(0, ...ys) * 1.05);
  const fx = chart.logX === true ? (x: number) => Math.log10(x) : (x: number) => x;
  const x0 = fx(xs[0] ?? 0);
  const x1 = fx(xs[xs.length - 1] ?? 1);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number): number =>
    MARGIN.left + (x1 === x0 ? plotW / 2 : ((fx(x) - x0) / (x1 - x0)) * plotW);
  const py = (y: number): number => MARGIN.top + plotH - (y / yMax) * plotH;
  const label = chart.xTickLabel ?? compact;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(chart.title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const y = (yMax * i) / 5;
    const at = py(y).toFixed(1);
    parts.push(
      `<line x1="${MARGIN.left}" y1="${at}" x2="${MARGIN.left + plotW}" y2="${at}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 6}" y="${at}" text-anchor="end" dominant-baseline="middle">${escape(compact(y))}</text>`,
    );
  }
  for (const x of xs) {
    const at = px(x).toFixed(1);
    parts.push(
      `<line x1="${at}" y1="${MARGIN.top + plotH}" x2="${at}" y2="${MARGIN.top + plotH + 5}" stroke="#333"/>`,
      `<text x="${at}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${escape(label(x))}</text>`,
    );
  }
  parts.push(
    `<line x1="${MARGIN.left}" y1="${MARGIN.top + plotH}" x2="${MARGIN.left + plotW}" y2="${MARGIN.top + plotH}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + plotH}" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">${escape(chart.xLabel)}</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(chart.yLabel)}</text>`,
  );
  chart.series.forEach((series, index) => {
    const colour = COLOURS[index % COLOURS.length] ?? '#000';
    const points = series.points.filter(([, y]) => Number.isFinite(y));
    const path = points
      .map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`)
      .join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const [x, y] of points) {
      parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3.5" fill="${colour}"/>`);
    }
    const ly = MARGIN.top + 10 + index * 20;
    parts.push(
      `<line x1="${WIDTH - MARGIN.right + 15}" y1="${ly}" x2="${WIDTH - MARGIN.right + 35}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${WIDTH - MARGIN.right + 40}" y="${ly}" dominant-baseline="middle">${escape(series.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
