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

/**
 * An action's busy flag and error: `run(work)` marks it busy, clears the error, awaits `work` and
 * keeps the server's message if it fails (what every button with a request behind it needs).
 */
export function useAction(): {
  busy: boolean;
  error: string | null;
  setError: (message: string | null) => void;
  run: (work: () => Promise<unknown>) => Promise<void>;
} {
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const run = React.useCallback(async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
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

/** A spinner with a word, while a view's data is on its way. */
export function Loading(props: { what?: string }) {
  return (
    <div className="nbr-Loading" role="status" aria-live="polite">
      <span className="nbr-Spinner" aria-hidden="true" />
      Loading{props.what ? ` ${props.what}` : ''}…
    </div>
  );
}

/** A grey placeholder bar where text will be. */
export function Skeleton(props: { width?: string; rows?: number }) {
  const rows = props.rows ?? 1;
  return (
    <span className="nbr-SkeletonGroup" aria-hidden="true">
      {Array.from({ length: rows }, (_, index) => (
        <span key={index} className="nbr-Skeleton" style={{ width: props.width ?? '100%' }} />
      ))}
    </span>
  );
}

/** Previous / next over a server-side list with a true total. */
export function Pager(props: {
  offset: number;
  limit: number;
  total: number | null;
  /** Rows on this page (when the total is unknown, a full page means there may be more). */
  shown: number;
  onChange: (offset: number) => void;
  noun?: string;
}) {
  const { offset, limit, total, shown } = props;
  const page = Math.floor(offset / limit) + 1;
  const pages = total === null ? null : Math.max(1, Math.ceil(total / limit));
  const hasNext = total === null ? shown === limit : offset + limit < total;
  const button = (label: string, to: number, enabled: boolean, className: string, title: string) => (
    <button
      type="button"
      className={`jp-Button jp-mod-styled nbr-PagerButton ${className}`}
      disabled={!enabled}
      title={title}
      onClick={() => props.onChange(to)}
    >
      {label}
    </button>
  );
  const last = pages === null ? offset : (pages - 1) * limit;
  return (
    <div className="nbr-Pager" role="navigation" aria-label="pages">
      {button('«', 0, offset > 0, 'nbr-Pager-first', 'first page')}
      {button('‹', Math.max(0, offset - limit), offset > 0, 'nbr-Pager-prev', 'previous page')}
      <span className="nbr-Pager-text">
        {shown === 0 ? 'none' : `${(offset + 1).toLocaleString()}–${(offset + shown).toLocaleString()}`}
        {total !== null && ` of ${total.toLocaleString()}`} {props.noun ?? ''}
        {pages !== null && pages > 1 ? ` · page ${page} of ${pages}` : ''}
      </span>
      {button('›', offset + limit, hasNext, 'nbr-Pager-next', 'next page')}
      {pages !== null && button('»', last, offset < last, 'nbr-Pager-last', 'last page')}
    </div>
  );
}

export interface ISort {
  column: string;
  descending: boolean;
}

/** A column header that sorts on click (aria-sort says how). */
export function SortHeader(props: {
  column: string;
  label: React.ReactNode;
  sort: ISort;
  onSort: (sort: ISort) => void;
  className?: string;
  title?: string;
  /** Direction of the first click on this column. */
  firstDescending?: boolean;
}) {
  const active = props.sort.column === props.column;
  const next = active ? !props.sort.descending : !!props.firstDescending;
  return (
    <th
      className={`nbr-SortHeader ${props.className ?? ''}${active ? ' nbr-mod-sorted' : ''}`}
      aria-sort={active ? (props.sort.descending ? 'descending' : 'ascending') : 'none'}
      data-column={props.column}
      title={props.title}
    >
      <button type="button" className="nbr-SortButton" onClick={() => props.onSort({ column: props.column, descending: next })}>
        {props.label}
        <span className="nbr-SortMark" aria-hidden="true">
          {active ? (props.sort.descending ? '▼' : '▲') : '↕'}
        </span>
      </button>
    </th>
  );
}

/** Sections of a page as tabs; the choice is the parent's (so it can be restored). */
export function Tabs(props: {
  tabs: { id: string; label: React.ReactNode }[];
  current: string;
  onChange: (id: string) => void;
}) {
  return (
    <div className="nbr-Tabs" role="tablist">
      {props.tabs.map(tab => (
        <button
          type="button"
          key={tab.id}
          role="tab"
          data-tab={tab.id}
          aria-selected={tab.id === props.current}
          className={`nbr-Tab${tab.id === props.current ? ' nbr-mod-current' : ''}`}
          onClick={() => props.onChange(tab.id)}
        >
          {tab.label}
        </button>
      ))}
    </div>
  );
}

export function Chip(props: {
  label: string;
  kind?: 'alias' | 'tag' | 'approve' | 'request-changes' | 'archived' | 'uncounted';
  title?: string;
}) {
  return (
    <span className={`nbr-Chip nbr-Chip-${props.kind ?? 'alias'}`} title={props.title}>
      {props.label}
    </span>
  );
}

/** Tags as `key=value` chips. */
export function TagChips(props: { tags: Record<string, string> }) {
  const entries = Object.entries(props.tags ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <span className="nbr-Chips nbr-TagChips">
      {entries.map(([key, value]) => (
        <Chip key={key} kind="tag" label={value === '' ? key : `${key}=${value}`} />
      ))}
    </span>
  );
}

/** A time, to the second in the viewer's zone, with the stored ISO text as its tooltip. */
export function Time(props: { iso: string | null | undefined }) {
  return (
    <time dateTime={props.iso ?? undefined} title={props.iso ?? undefined} className="nbr-Nowrap">
      {formatTime(props.iso)}
    </time>
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

/** `2026-11-27T06:40:00.123456Z` → `2026-11-27 07:40:00` in the viewer's time zone (the ISO form in the tooltip). */
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
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
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
