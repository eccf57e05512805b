/** A small hand-drawn SVG bar chart with a trend line: one metric across versions. */
import * as React from 'react';

import { formatNumber } from './ui';

export interface IChartProps {
  labels: string[];
  values: (number | null)[];
  best: number[];
  title: string;
}

const WIDTH = 420;
const HEIGHT = 200;
const PAD = { top: 16, right: 12, bottom: 40, left: 52 };

export function MetricChart(props: IChartProps) {
  const present = props.values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (!present.length) {
    return <div className="nbr-Muted">No values for {props.title}.</div>;
  }
  const low = Math.min(0, ...present);
  const high = Math.max(...present, low + 1e-12);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / props.values.length;
  const barW = Math.max(4, Math.min(48, slot * 0.6));
  const y = (value: number) => PAD.top + plotH - ((value - low) / (high - low)) * plotH;
  const x = (index: number) => PAD.left + slot * index + slot / 2;
  const points = props.values
    .map((value, index) => (value === null ? null : `${x(index)},${y(value)}`))
    .filter(Boolean)
    .join(' ');
  const ticks = [low, (low + high) / 2, high];

  return (
    <svg
      className="nbr-Chart"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label={`${props.title} by version`}
    >
      {ticks.map((tick, index) => (
        <g key={index}>
          <line className="nbr-Chart-grid" x1={PAD.left} x2={WIDTH - PAD.right} y1={y(tick)} y2={y(tick)} />
          <text className="nbr-Chart-label" x={PAD.left - 6} y={y(tick) + 4} textAnchor="end">
            {formatNumber(tick)}
          </text>
        </g>
      ))}
      {props.values.map((value, index) =>
        value === null ? null : (
          <g key={index}>
            <rect
              className={`nbr-Chart-bar${props.best.includes(index) ? ' nbr-mod-best' : ''}`}
              x={x(index) - barW / 2}
              y={Math.min(y(value), y(Math.max(low, 0)))}
              width={barW}
              height={Math.abs(y(Math.max(low, 0)) - y(value))}
            >
              <title>{`${props.labels[index]}: ${formatNumber(value)}`}</title>
            </rect>
          </g>
        )
      )}
      {present.length > 1 && <polyline className="nbr-Chart-line" points={points} />}
      {props.labels.map((label, index) => (
        <text key={index} className="nbr-Chart-label" x={x(index)} y={HEIGHT - PAD.bottom + 16} textAnchor="middle">
          {label.length > 14 ? `${label.slice(0, 13)}…` : label}
        </text>
      ))}
    </svg>
  );
}
