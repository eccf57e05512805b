/**
 * Small hand-drawn SVG charts of one metric across versions. The value axis is zoomed to the data
 * (with "nice" ticks), not pinned at 0, so 0.965 and 0.972 look different; x labels are thinned and
 * slanted so a dozen (or hundreds of) versions stay readable.
 */
import * as React from 'react';

import { formatNumber } from './ui';

export interface IChartProps {
  labels: string[];
  values: (number | null)[];
  /** Indexes drawn as best (strictly best only: the caller decides). */
  best: number[];
  title: string;
  /** bars (compare) or a line with points (many versions). */
  kind?: 'bars' | 'line';
  width?: number;
}

const HEIGHT = 220;
const PAD = { top: 18, right: 16, bottom: 56, left: 64 };

/** Round tick values covering [low, high]: 1, 2 or 5 × 10^k steps. */
export function niceTicks(low: number, high: number, count = 5): number[] {
  if (!(high > low)) {
    const pad = Math.abs(low) * 0.05 || 1;
    return niceTicks(low - pad, high + pad, count);
  }
  const raw = (high - low) / Math.max(1, count - 1);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map(m => m * power).find(s => s >= raw) ?? 10 * power;
  const start = Math.floor(low / step) * step;
  const ticks: number[] = [];
  for (let value = start; value <= high + step * 0.5; value += step) {
    ticks.push(Number(value.toPrecision(12)));
    if (ticks.length > 12) {
      break;
    }
  }
  return ticks;
}

function tickLabel(value: number, step: number): string {
  const decimals = Math.max(0, Math.min(8, -Math.floor(Math.log10(step || 1)) + 1));
  return Math.abs(value) >= 1e6 ? value.toExponential(2) : value.toFixed(decimals);
}

export function MetricChart(props: IChartProps) {
  const width = props.width ?? Math.max(360, Math.min(900, 80 + props.values.length * 64));
  const present = props.values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (!present.length) {
    return <div className="nbr-Muted">No values for {props.title}.</div>;
  }
  // Zoomed to the data with a little room below the smallest value, so its bar still shows.
  const min = Math.min(...present);
  const max = Math.max(...present);
  const ticks = niceTicks(min - (max - min) * 0.15, max);
  const low = ticks[0];
  const high = ticks[ticks.length - 1];
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
  const plotW = width - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const count = props.values.length;
  const slot = plotW / count;
  const barW = Math.max(3, Math.min(48, slot * 0.6));
  const y = (value: number) => PAD.top + plotH - ((value - low) / (high - low || 1)) * plotH;
  const x = (index: number) => PAD.left + slot * index + slot / 2;
  const kind = props.kind ?? 'bars';
  const labelEvery = Math.max(1, Math.ceil(count / Math.max(1, Math.floor(plotW / 56))));
  const points = props.values
    .map((value, index) => (value === null ? null : `${x(index)},${y(value)}`))
    .filter(Boolean)
    .join(' ');

  return (
    <svg
      className="nbr-Chart"
      width={width}
      height={HEIGHT}
      viewBox={`0 0 ${width} ${HEIGHT}`}
      role="img"
      aria-label={`${props.title} by version`}
      data-metric={props.title}
    >
      <text className="nbr-Chart-axisTitle" x={12} y={PAD.top + plotH / 2} transform={`rotate(-90 12 ${PAD.top + plotH / 2})`} textAnchor="middle">
        {props.title}
      </text>
      {ticks.map((tick, index) => (
        <g key={index}>
          <line className="nbr-Chart-grid" x1={PAD.left} x2={width - PAD.right} y1={y(tick)} y2={y(tick)} />
          <text className="nbr-Chart-label" x={PAD.left - 6} y={y(tick) + 4} textAnchor="end">
            {tickLabel(tick, step)}
          </text>
        </g>
      ))}
      {kind === 'bars' &&
        props.values.map((value, index) =>
          value === null ? null : (
            <rect
              key={index}
              className={`nbr-Chart-bar${props.best.includes(index) ? ' nbr-mod-best' : ''}`}
              x={x(index) - barW / 2}
              y={y(value)}
              width={barW}
              height={Math.max(1, y(low) - y(value))}
            >
              <title>{`${props.labels[index]}: ${formatNumber(value)}`}</title>
            </rect>
          )
        )}
      {present.length > 1 && <polyline className="nbr-Chart-line" points={points} />}
      {kind === 'line' &&
        props.values.map((value, index) =>
          value === null ? null : (
            <circle
              key={index}
              className={`nbr-Chart-point${props.best.includes(index) ? ' nbr-mod-best' : ''}`}
              cx={x(index)}
              cy={y(value)}
              r={count > 60 ? 2 : 3.5}
            >
              <title>{`${props.labels[index]}: ${formatNumber(value)}`}</title>
            </circle>
          )
        )}
      {props.labels.map((label, index) =>
        index % labelEvery !== 0 && index !== count - 1 ? null : (
          <text
            key={index}
            className="nbr-Chart-label nbr-Chart-xlabel"
            x={x(index)}
            y={HEIGHT - PAD.bottom + 14}
            textAnchor="end"
            transform={`rotate(-35 ${x(index)} ${HEIGHT - PAD.bottom + 14})`}
          >
            {label.length > 16 ? `${label.slice(0, 15)}…` : label}
          </text>
        )
      )}
    </svg>
  );
}
