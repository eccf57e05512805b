/**
 * The app's home: every model in a sortable, server-paged table with true totals. Free text
 * searches models (GET /models?q=); text with an operator is a search expression (GET /search)
 * and lists the matching versions instead.
 */
import * as React from 'react';

import { withQuery } from './api';
import { useRegistry, versionRef } from './context';
import { Model, ModelVersion } from './types';
import { AliasChips, ErrorBox, formatNumber, ISort, Loading, Pager, SortHeader, Time, useFetch } from './ui';

const PAGE_SIZE = 50;

/** `metrics.auc > 0.8`, `tags.team = "a" and ...`: anything with a comparison operator. */
export function isExpression(text: string): boolean {
  return /(<=|>=|!=|==|=|<|>|~)/.test(text) || /\s(and|or|not|in|like)\s/i.test(` ${text} `);
}

/** Metric names seen in the registry (from a small sample of versions), for the metric picker; null while loading. */
export function useMetricNames(refreshKey: number): string[] | null {
  const { data, error } = useFetch<{ versions: ModelVersion[] }>(withQuery('search', { limit: 200 }), refreshKey);
  return React.useMemo(() => {
    if (!data) {
      return error ? [] : null;
    }
    const names = new Set<string>();
    data.versions.forEach(v => Object.keys(v.metrics ?? {}).forEach(key => names.add(key)));
    return Array.from(names).sort();
  }, [data, error]);
}

export function ModelTable() {
  const { refreshKey, settings } = useRegistry();
  const [text, setText] = React.useState('');
  const [query, setQuery] = React.useState('');
  const [archived, setArchived] = React.useState(false);
  const [chosenMetric, setMetric] = React.useState<string | null>(null);
  const sampled = useMetricNames(refreshKey);
  const metricNames = sampled ?? [];
  const metric = chosenMetric ?? (settings.defaultMetric || metricNames[0] || '');
  // The models are asked for once the metric column is known, not once without and again with it.
  const metricKnown = sampled !== null || !!chosenMetric || !!settings.defaultMetric;

  React.useEffect(() => {
    const timer = window.setTimeout(() => setQuery(text.trim()), 250);
    return () => window.clearTimeout(timer);
  }, [text]);

  const expression = isExpression(query);
  return (
    <div className="nbr-ModelTablePage">
      <div className="nbr-SearchBar">
        <input
          className="jp-mod-styled nbr-SearchInput"
          type="search"
          placeholder="Search names, descriptions, tags — or metrics.auc > 0.8"
          aria-label="Search models"
          value={text}
          onChange={event => setText(event.target.value)}
        />
        <label className="nbr-Toggle" title="Include archived models">
          <input type="checkbox" checked={archived} onChange={event => setArchived(event.target.checked)} />
          archived
        </label>
        <label className="nbr-Toggle" title="The metric of each model's latest version shown in the table">
          metric
          <select
            className="jp-mod-styled nbr-MetricPicker"
            aria-label="metric column"
            value={metric}
            onChange={event => setMetric(event.target.value)}
          >
            {!metricNames.includes(metric) && <option value={metric}>{metric || '(none)'}</option>}
            {metricNames.map(name => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
      </div>
      {expression ? (
        <SearchResults key={query} expression={query} />
      ) : !metricKnown ? (
        <Loading what="models" />
      ) : (
        <ModelsPage key={`${query}|${archived}`} query={query} archived={archived} metric={metric} />
      )}
    </div>
  );
}

const ORDER: Record<string, string> = {
  name: 'name',
  latest: 'latest',
  aliases: 'aliases',
  updated: 'updated',
  owner: 'owner',
  versions: 'versions',
  metric: 'metric'
};

function ModelsPage(props: { query: string; archived: boolean; metric: string }) {
  const { refreshKey, navigate } = useRegistry();
  const [sort, setSort] = React.useState<ISort>({ column: 'name', descending: false });
  const [offset, setOffset] = React.useState(0);
  const column = sort.column === 'metric' && !props.metric ? 'name' : sort.column;
  const path = withQuery('models', {
    q: props.query,
    archived: props.archived ? 1 : undefined,
    limit: PAGE_SIZE,
    offset,
    order: `${sort.descending ? '-' : ''}${ORDER[column]}`,
    metric: props.metric || undefined
  });
  const { data, error, loading } = useFetch<{ models: Model[]; total: number }>(path, refreshKey);
  const models = data?.models ?? [];
  const onSort = (next: ISort) => {
    setSort(next);
    setOffset(0);
  };
  const header = (column: string, label: React.ReactNode, extra: Partial<{ className: string; firstDescending: boolean; title: string }> = {}) => (
    <SortHeader column={column} label={label} sort={sort} onSort={onSort} {...extra} />
  );

  return (
    <>
      <ErrorBox message={error} />
      <div className="nbr-ListSummary" aria-busy={loading}>
        {data
          ? `${data.total.toLocaleString()} model${data.total === 1 ? '' : 's'}${props.query ? ` matching “${props.query}”` : ''}`
          : error
            ? ''
            : <Loading what="models" />}
      </div>
      {data && data.total === 0 && (
        <div className="nbr-Empty">
          {props.query
            ? `No model's name, description or tags contain “${props.query}”.`
            : 'No models yet. Register one from a notebook: nr.register(model, "name")'}
        </div>
      )}
      {models.length > 0 && (
        <div className={`nbr-TableScroll nbr-ModelTableScroll${loading ? ' nbr-mod-loading' : ''}`}>
          <table className="nbr-Table nbr-ModelTable">
            <thead>
              <tr>
                {header('name', 'name', { className: 'nbr-Sticky' })}
                {header('latest', 'latest', { className: 'nbr-Num', firstDescending: true })}
                {header('aliases', 'aliases', { firstDescending: true })}
                {header('updated', 'updated', { firstDescending: true })}
                {header('owner', 'owner')}
                {header('versions', 'versions', { className: 'nbr-Num', firstDescending: true })}
                {props.metric &&
                  header('metric', props.metric, {
                    className: 'nbr-Num',
                    firstDescending: true,
                    title: `${props.metric} of the latest version`
                  })}
              </tr>
            </thead>
            <tbody>
              {models.map(model => (
                <tr
                  key={model.name}
                  data-model={model.name}
                  className={`nbr-ModelRow${model.archived ? ' nbr-mod-archived' : ''}`}
                  tabIndex={0}
                  onClick={() => navigate({ kind: 'model', name: model.name })}
                  onKeyDown={event => event.key === 'Enter' && navigate({ kind: 'model', name: model.name })}
                >
                  <th className="nbr-Sticky">
                    <span className="nbr-ModelName">{model.name}</span>
                    {model.archived && <span className="nbr-Chip nbr-Chip-archived">archived</span>}
                    {model.description && <div className="nbr-Muted nbr-Ellipsis">{model.description.split('\n')[0]}</div>}
                  </th>
                  <td className="nbr-Num">{model.latest_version === null ? '—' : `v${model.latest_version}`}</td>
                  <td>
                    <span className="nbr-Chips">
                      {Object.entries(model.aliases ?? {})
                        .sort(([a], [b]) => a.localeCompare(b))
                        .map(([alias, version]) => (
                          <span key={alias} className="nbr-Chip nbr-Chip-alias">
                            @{alias}:{version}
                          </span>
                        ))}
                    </span>
                  </td>
                  <td>
                    <Time iso={model.updated_at || model.created_at} />
                  </td>
                  <td>{model.created_by}</td>
                  <td className="nbr-Num">{model.version_count}</td>
                  {props.metric && <td className="nbr-Num">{formatNumber(model.latest_metric)}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data && data.total > PAGE_SIZE && (
        <Pager offset={offset} limit={PAGE_SIZE} total={data.total} shown={models.length} onChange={setOffset} noun="models" />
      )}
    </>
  );
}

function SearchResults(props: { expression: string }) {
  const { refreshKey, navigate } = useRegistry();
  const [offset, setOffset] = React.useState(0);
  const path = withQuery('search', { q: props.expression, limit: PAGE_SIZE, offset });
  const { data, error, loading } = useFetch<{ versions: ModelVersion[] }>(path, refreshKey);
  const versions = data?.versions ?? [];
  const metricKeys = React.useMemo(() => {
    const keys = new Set<string>();
    versions.forEach(v => Object.keys(v.metrics ?? {}).forEach(k => keys.add(k)));
    return Array.from(keys).sort().slice(0, 6);
  }, [versions]);
  return (
    <>
      <ErrorBox message={error} />
      {!data && !error && <Loading what="matching versions" />}
      {data && !versions.length && <div className="nbr-Empty">No version matches {props.expression}.</div>}
      {versions.length > 0 && (
        <div className={`nbr-TableScroll${loading ? ' nbr-mod-loading' : ''}`}>
          <table className="nbr-Table nbr-SearchTable">
            <thead>
              <tr>
                <th className="nbr-Sticky">version</th>
                <th>aliases</th>
                <th>author</th>
                <th>created</th>
                {metricKeys.map(key => (
                  <th key={key} className="nbr-Num">
                    {key}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {versions.map(version => {
                const ref = version.ref || versionRef(version.name, version.version);
                return (
                  <tr key={ref} data-ref={ref} className="nbr-VersionRow" tabIndex={0} onClick={() => navigate({ kind: 'version', ref })}>
                    <th className="nbr-Sticky">{ref}</th>
                    <td>
                      <AliasChips aliases={version.aliases ?? []} />
                    </td>
                    <td>{version.author}</td>
                    <td>
                      <Time iso={version.created_at} />
                    </td>
                    {metricKeys.map(key => (
                      <td key={key} className="nbr-Num">
                        {formatNumber(version.metrics?.[key])}
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {data && (offset > 0 || versions.length === PAGE_SIZE) && (
        <Pager offset={offset} limit={PAGE_SIZE} total={null} shown={versions.length} onChange={setOffset} noun="versions" />
      )}
    </>
  );
}
