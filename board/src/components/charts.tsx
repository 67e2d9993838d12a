import { useId } from 'react';

export interface Bar {
  label: string;
  value: number;
  /** shown instead of the raw value */
  display?: string;
}

/**
 * A horizontal bar chart in plain SVG: one row per bar, labels and values as
 * text, so it reads without colour; the figure's caption names it for screen readers.
 */
export function BarChart({ title, bars, unit }: { title: string; bars: Bar[]; unit?: string }) {
  const id = useId();
  const max = Math.max(1, ...bars.map((b) => b.value));
  const row = 30;
  const labelWidth = 150;
  const width = 520;
  // Room after the longest bar for its value text (about 7 px a character at 13 px).
  const longestValue = Math.max(...bars.map((b) => (b.display ?? String(b.value)).length), 1);
  const barSpace = width - labelWidth - Math.min(240, longestValue * 7 + 16);
  const height = bars.length * row + 8;
  return (
    <figure className="chart" aria-labelledby={`${id}-caption`}>
      <figcaption id={`${id}-caption`}>{title}</figcaption>
      {bars.length === 0 ? (
        <p className="empty">Nothing to show.</p>
      ) : (
        <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${id}-caption ${id}-desc`} preserveAspectRatio="xMinYMin meet">
          <desc id={`${id}-desc`}>{bars.map((b) => `${b.label}: ${b.display ?? `${b.value}${unit ? ` ${unit}` : ''}`}`).join('; ')}</desc>
          {bars.map((bar, i) => {
            const y = i * row + 4;
            const w = bar.value > 0 ? Math.max(2, (bar.value / max) * barSpace) : 0;
            return (
              <g key={bar.label} transform={`translate(0, ${y})`}>
                <text x={labelWidth - 8} y={row / 2} textAnchor="end" dominantBaseline="middle" className="chart-label">
                  {bar.label}
                </text>
                <rect x={labelWidth} y={4} width={w} height={row - 10} rx={3} className={`chart-bar chart-bar-${i % 5}`} />
                <text x={labelWidth + w + 6} y={row / 2} dominantBaseline="middle" className="chart-value">
                  {bar.display ?? bar.value}
                </text>
              </g>
            );
          })}
        </svg>
      )}
    </figure>
  );
}
