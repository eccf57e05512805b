/**
 * The comparison table, shared by the panel's compare view and the MIME
 * renderer: best value per metric highlighted, differing params highlighted.
 */
import * as React from 'react';

import { Comparison } from './types';
import { columnFormatter, LinkButton } from './ui';

export function ComparisonTable(props: { comparison: Comparison; onOpen?: (ref: string) => void }) {
  const { comparison, onOpen } = props;
  const versions = comparison.versions ?? [];
  const metrics = Object.entries(comparison.metrics ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const params = Object.entries(comparison.params ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const tags = Object.entries(comparison.tags ?? {}).sort(([a], [b]) => a.localeCompare(b));

  const group = (title: string, size: number) =>
    size > 0 && (
      <tr className="nbr-Compare-group">
        <th colSpan={versions.length + 1}>{title}</th>
      </tr>
    );

  return (
    <div className="nbr-TableScroll">
      <table className="nbr-Table nbr-CompareTable">
        <thead>
          <tr>
            <th />
            {versions.map(v => (
              <th key={v.ref} className="nbr-Num" data-ref={v.ref}>
                {onOpen ? (
                  <LinkButton onClick={() => onOpen(v.ref)}>{v.ref}</LinkButton>
                ) : (
                  v.ref
                )}
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
            <th>author</th>
            {versions.map(v => (
              <td key={v.ref} className="nbr-Num">
                {v.author}
              </td>
            ))}
          </tr>
          {group('metrics', metrics.length)}
          {metrics.map(([key, metric]) => {
            const format = columnFormatter(metric.values);
            return (
              <tr key={`m-${key}`} data-metric={key}>
                <th title={`goal: ${metric.goal}`}>
                  {key} <span className="nbr-Muted">{metric.goal === 'min' ? '↓' : '↑'}</span>
                </th>
                {versions.map((v, index) => {
                  const best = (metric.best ?? []).includes(index);
                  return (
                    <td
                      key={v.ref}
                      className={`nbr-Num${best ? ' nbr-mod-best' : ''}`}
                      title={best ? `best ${key}` : undefined}
                    >
                      {format(metric.values[index])}
                    </td>
                  );
                })}
              </tr>
            );
          })}
          {group('params', params.length)}
          {params.map(([key, param]) => (
            <tr key={`p-${key}`} className={param.differs ? 'nbr-mod-differs' : ''} data-param={key}>
              <th>{key}</th>
              {versions.map((v, index) => (
                <td key={v.ref} className="nbr-Num">
                  {param.values[index] ?? '—'}
                </td>
              ))}
            </tr>
          ))}
          {group('tags', tags.length)}
          {tags.map(([key, tag]) => (
            <tr key={`t-${key}`} className={tag.differs ? 'nbr-mod-differs' : ''}>
              <th>{key}</th>
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
