// uPlot line charts: about 50 KB minified, draws on one canvas, fast with thousands of points.
// The numbers are also given as text (the figure's caption and a table), for screen readers.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
}

/** `summary`: the caption's text in place of each series' total, for series that do not add up (latencies). */
export function LineChart({ title, x, series, unit = '', summary }: { title: string; x: number[]; series: ChartSeries[]; unit?: string; summary?: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = () => Math.max(280, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 220,
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            // A series with gaps (no requests there) may have points with no neighbour: a line alone would not show them.
            points: { show: s.values.some((v) => v === null), size: 6, fill: s.color },
            value: (_u: uPlot, v: number | null) => (v === null ? '–' : `${Number.isInteger(v) ? v : v.toFixed(1)}${unit}`),
          })),
        ],
        axes: [{}, { size: 60 }],
        scales: { x: { time: true } },
        legend: { live: true },
      },
      [x, ...series.map((s) => s.values)],
      el,
    );
    const observer = new ResizeObserver(() => plot.setSize({ width: width(), height: 220 }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [x, series, unit]);
  const totals = summary ?? series.map((s) => `${s.label}: ${s.values.reduce<number>((a, v) => a + (v ?? 0), 0)}`).join(', ');
  return (
    <figure className="chart">
      <figcaption>
        <strong>{title}</strong> <span className="muted">({totals})</span>
      </figcaption>
      <div ref={box} role="img" aria-label={`${title}. ${summary === undefined ? 'Totals: ' : ''}${totals}`} />
    </figure>
  );
}
