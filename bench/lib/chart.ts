/**
 * The side-by-side chart as SVG, made here (no charting dependency): one horizontal bar per target, its
 * length the median CPU µs per request, a whisker from the fastest to the slowest round.
 */
export interface Bar {
  label: string;
  median: number;
  min: number;
  max: number;
  /** Gatehouse's bars are drawn in their own colour. */
  highlight: boolean;
}

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function barChartSvg(title: string, bars: Bar[]): string {
  const [labelWidth, plotWidth, row, top, bottom] = [330, 420, 26, 44, 40];
  const width = labelWidth + plotWidth + 70;
  const height = top + bars.length * row + bottom;
  const longest = Math.max(...bars.map((b) => b.max));
  // A round scale end: 1, 2 or 5 times a power of ten, above the longest whisker.
  const magnitude = 10 ** Math.floor(Math.log10(longest || 1));
  const scaleEnd = [1, 2, 5, 10].map((m) => m * magnitude).find((v) => v >= longest) ?? 10 * magnitude;
  const x = (value: number) => labelWidth + (value / scaleEnd) * plotWidth;
  const ticks = Array.from({ length: 6 }, (_, i) => (scaleEnd * i) / 5);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escape(title)}</text>`,
  ];
  for (const tick of ticks) {
    parts.push(`<line x1="${x(tick).toFixed(1)}" y1="${top - 6}" x2="${x(tick).toFixed(1)}" y2="${top + bars.length * row}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(tick).toFixed(1)}" y="${top + bars.length * row + 16}" text-anchor="middle" fill="#555">${Number(tick.toPrecision(3))}</text>`);
  }
  parts.push(
    `<text x="${labelWidth + plotWidth / 2}" y="${height - 8}" text-anchor="middle" fill="#333">CPU µs per request (median of the rounds; whiskers: fastest to slowest round)</text>`,
  );
  bars.forEach((bar, i) => {
    const y = top + i * row;
    const mid = y + row / 2;
    parts.push(`<text x="${labelWidth - 8}" y="${mid + 4}" text-anchor="end">${escape(bar.label)}</text>`);
    parts.push(
      `<rect x="${labelWidth}" y="${y + 4}" width="${(x(bar.median) - labelWidth).toFixed(1)}" height="${row - 8}" fill="${bar.highlight ? '#2b6cb0' : '#a0aec0'}"/>`,
    );
    parts.push(`<line x1="${x(bar.min).toFixed(1)}" y1="${mid}" x2="${x(bar.max).toFixed(1)}" y2="${mid}" stroke="#222"/>`);
    for (const end of [bar.min, bar.max])
      parts.push(`<line x1="${x(end).toFixed(1)}" y1="${mid - 5}" x2="${x(end).toFixed(1)}" y2="${mid + 5}" stroke="#222"/>`);
    parts.push(`<text x="${(x(bar.max) + 6).toFixed(1)}" y="${mid + 4}" fill="#222">${bar.median.toFixed(1)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
