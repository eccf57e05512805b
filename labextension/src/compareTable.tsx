/**
 * The comparison table, shared by the app's compare view and the notebook MIME renderer: a sticky
 * label column, version columns that scroll sideways inside the table only, the strictly best value
 * per metric marked, and rows whose values are all the same hidden unless asked for.
 */
import * as React from 'react';

import { Comparison } from './types';
import { columnFormatter, LinkButton } from './ui';

/** The version marked best for a metric: the core marks one only when it is strictly best (a tie marks
 * none); an output saved by an older nbregistry may list several, which then mark none either. */
export function strictlyBest(metric: { best?: number[] }): number | null {
  return metric.best && metric.best.length === 1 ? metric.best[0] : null;
}

/** Do the values differ? The core says so (`differs`). */
function differs(row: { differs: boolean }): boolean {
  return !!row.differs;
}

export function ComparisonTable(props: { comparison: Comparison; onOpen?: (ref: string) => void; hideIdentical?: boolean }) {
  const { comparison, onOpen } = props;
  const hide = props.hideIdentical ?? true;
  const versions = comparison.versions ?? [];
  const metrics = Object.entries(comparison.metrics ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const allParams = Object.entries(comparison.params ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const allTags = Object.entries(comparison.tags ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const params = allParams.filter(([, p]) => !hide || differs(p));
  const tags = allTags.filter(([, t]) => !hide || differs(t));
  const hiddenCount = allParams.length - params.length + allTags.length - tags.length;

  const group = (title: string, size: number, total: number) =>
    total > 0 && (
      <tr className="nbr-Compare-group">
        <th className="nbr-Sticky">
          {title}
          {size < total && <span className="nbr-Muted"> ({total - size} identical hidden)</span>}
        </th>
        <td colSpan={versions.length} />
      </tr>
    );

  return (
    <div className="nbr-TableScroll nbr-CompareScroll" data-hidden-identical={hiddenCount}>
      <table className="nbr-Table nbr-CompareTable">
        <thead>
          <tr>
            <th className="nbr-Sticky nbr-Compare-corner">{versions.length} versions</th>
            {versions.map(v => (
              <th key={v.ref} className="nbr-Num nbr-Compare-version" data-ref={v.ref}>
                {onOpen ? <LinkButton onClick={() => onOpen(v.ref)}>{v.ref}</LinkButton> : v.ref}
                {(v.aliases ?? []).map(alias => (
                  <span key={alias} className="nbr-Chip nbr-Chip-alias">
                    @{alias}
                  </span>
                ))}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          <tr>
            <th className="nbr-Sticky">author</th>
            {versions.map(v => (
              <td key={v.ref} className="nbr-Num">
                {v.author}
              </td>
            ))}
          </tr>
          {group('metrics', metrics.length, metrics.length)}
          {metrics.map(([key, metric]) => {
            const format = columnFormatter(metric.values);
            const best = strictlyBest(metric);
            return (
              <tr key={`m-${key}`} data-metric={key}>
                <th className="nbr-Sticky" title={`goal: ${metric.goal === 'min' ? 'lower' : 'higher'} is better`}>
                  {key} <span className="nbr-Muted">{metric.goal === 'min' ? '↓' : '↑'}</span>
                </th>
                {versions.map((v, index) => (
                  <td
                    key={v.ref}
                    className={`nbr-Num${best === index ? ' nbr-mod-best' : ''}`}
                    title={best === index ? `best ${key}` : undefined}
                  >
                    {format(metric.values[index])}
                  </td>
                ))}
              </tr>
            );
          })}
          {group('params', params.length, allParams.length)}
          {params.map(([key, param]) => (
            <tr key={`p-${key}`} className={differs(param) ? 'nbr-mod-differs' : ''} data-param={key}>
              <th className="nbr-Sticky">{key}</th>
              {versions.map((v, index) => (
                <td key={v.ref} className="nbr-Num">
                  {param.values[index] ?? '—'}
                </td>
              ))}
            </tr>
          ))}
          {group('tags', tags.length, allTags.length)}
          {tags.map(([key, tag]) => (
            <tr key={`t-${key}`} className={differs(tag) ? 'nbr-mod-differs' : ''} data-tag={key}>
              <th className="nbr-Sticky">{key}</th>
              {versions.map((v, index) => (
                <td key={v.ref} className="nbr-Num">
                  {tag.values[index] ?? '—'}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
