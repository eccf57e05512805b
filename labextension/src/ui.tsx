/** Small shared React pieces: data loading hook, chips, errors, key/value tables. */
import * as React from 'react';

import { errorMessage, requestAPI } from './api';

export interface IFetchState<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/**
 * GET `path` (null = nothing to load) and re-fetch whenever `path` or
 * `refreshKey` changes. Keeps showing the previous data during a refresh so
 * live updates do not flicker.
 */
export function useFetch<T>(path: string | null, refreshKey = 0): IFetchState<T> {
  const [data, setData] = React.useState<T | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [loading, setLoading] = React.useState(false);
  const [nonce, setNonce] = React.useState(0);
  const reload = React.useCallback(() => setNonce(n => n + 1), []);

  React.useEffect(() => {
    if (path === null) {
      setData(null);
      return;
    }
    let cancelled = false;
    setLoading(true);
    requestAPI<T>(path)
      .then(answer => {
        if (!cancelled) {
          setData(answer);
          setError(null);
        }
      })
      .catch(reason => {
        if (!cancelled) {
          setError(errorMessage(reason));
        }
      })
      .finally(() => {
        if (!cancelled) {
          setLoading(false);
        }
      });
    return () => {
      cancelled = true;
    };
  }, [path, refreshKey, nonce]);

  return { data, error, loading, reload };
}

export function ErrorBox(props: { message: string | null; onDismiss?: () => void }) {
  if (!props.message) {
    return null;
  }
  return (
    <div className="nbr-Error" role="alert">
      <span className="nbr-Error-text">{props.message}</span>
      {props.onDismiss && (
        <button className="jp-Button jp-mod-minimal nbr-Error-dismiss" title="Dismiss" onClick={props.onDismiss}>
          ×
        </button>
      )}
    </div>
  );
}

/** A button that looks like a link: in-panel navigation, reachable by keyboard. */
export function LinkButton(props: { onClick: () => void; children: React.ReactNode; title?: string }) {
  return (
    <button type="button" className="nbr-Link nbr-LinkButton" title={props.title} onClick={props.onClick}>
      {props.children}
    </button>
  );
}

export function Loading() {
  return <div className="nbr-Loading">Loading…</div>;
}

export function Chip(props: { label: string; kind?: 'alias' | 'tag' | 'approve' | 'request-changes' | 'archived'; title?: string }) {
  return (
    <span className={`nbr-Chip nbr-Chip-${props.kind ?? 'alias'}`} title={props.title}>
      {props.label}
    </span>
  );
}

export function AliasChips(props: { aliases: string[] }) {
  return (
    <span className="nbr-Chips">
      {props.aliases.map(alias => (
        <Chip key={alias} label={`@${alias}`} />
      ))}
    </span>
  );
}

/** A two-column table for dicts (params, tags, metrics...). */
export function KeyValueTable(props: { data: Record<string, unknown>; empty?: string }) {
  const keys = Object.keys(props.data ?? {}).sort();
  if (!keys.length) {
    return <div className="nbr-Muted">{props.empty ?? 'none'}</div>;
  }
  return (
    <table className="nbr-Table nbr-KV">
      <tbody>
        {keys.map(key => (
          <tr key={key}>
            <th>{key}</th>
            <td>{formatValue(props.data[key])}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Section(props: { title: string; children: React.ReactNode; actions?: React.ReactNode }) {
  return (
    <section className="nbr-Section">
      <div className="nbr-Section-header">
        <h3>{props.title}</h3>
        {props.actions}
      </div>
      {props.children}
    </section>
  );
}

export function formatValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (typeof value === 'number') {
    return formatNumber(value);
  }
  if (typeof value === 'object') {
    return JSON.stringify(value);
  }
  return String(value);
}

export function formatNumber(value: number | null | undefined, asInteger = Number.isInteger(value)): string {
  if (value === null || value === undefined || Number.isNaN(value)) {
    return '—';
  }
  if (asInteger) {
    return String(value);
  }
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(3) : value.toFixed(4);
}

/** One format for a whole column: decimals unless every value is a whole number (1.0000, not 1). */
export function columnFormatter(values: (number | null | undefined)[]): (value: number | null | undefined) => string {
  const whole = values.every(v => v === null || v === undefined || Number.isInteger(v));
  return value => formatNumber(value, whole);
}

/** `2026-11-27T06:40:00.123456Z` → local `2026-11-27 07:40`. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) {
    return '—';
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return iso;
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

export function formatBytes(size: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}
