/**
 * The panel's home: a search box and a virtualized list of models. Free text
 * filters model names (GET /models?q=); text with an operator is a search
 * expression (GET /search?q=) and lists the matching versions instead.
 */
import * as React from 'react';

import { errorMessage, requestAPI, withQuery } from './api';
import { useRegistry, versionRef } from './context';
import { Model, ModelVersion } from './types';
import { AliasChips, ErrorBox, formatNumber, useFetch } from './ui';
import { VirtualList } from './virtualList';

const PAGE_SIZE = 200;
const ROW_HEIGHT = 44;

/** `metrics.auc > 0.8`, `tags.team = "a" and ...`: anything with a comparison operator. */
export function isExpression(text: string): boolean {
  return /(<=|>=|!=|==|=|<|>|~)/.test(text) || /\s(and|or|not|in|like)\s/i.test(` ${text} `);
}

/** What the list shows; kept by the panel so going back to the list keeps the search. */
export interface IListFilter {
  text: string;
  archived: boolean;
}

export function ModelList(props: { filter: IListFilter; onFilter: (filter: IListFilter) => void }) {
  const { text, archived } = props.filter;
  const setText = (value: string) => props.onFilter({ ...props.filter, text: value });
  const setArchived = (value: boolean) => props.onFilter({ ...props.filter, archived: value });
  const [query, setQuery] = React.useState(text.trim());

  // Debounce typing: a request per pause, not per key.
  React.useEffect(() => {
    const timer = window.setTimeout(() => setQuery(text.trim()), 250);
    return () => window.clearTimeout(timer);
  }, [text]);

  const expression = isExpression(query);
  return (
    <div className="nbr-ModelList">
      <div className="nbr-SearchBar">
        <input
          className="jp-mod-styled nbr-SearchInput"
          type="search"
          placeholder="Filter models, or search: metrics.auc > 0.8"
          aria-label="Search models"
          value={text}
          onChange={event => setText(event.target.value)}
        />
        <label className="nbr-Toggle" title="Include archived models">
          <input
            type="checkbox"
            checked={archived}
            onChange={event => setArchived(event.target.checked)}
          />
          archived
        </label>
      </div>
      {expression ? (
        <SearchResults expression={query} />
      ) : (
        <PagedModels key={`${query}|${archived}`} query={query} archived={archived} />
      )}
    </div>
  );
}

/** Models fetched page by page as they scroll into view. */
function PagedModels(props: { query: string; archived: boolean }) {
  const { refreshKey, navigate } = useRegistry();
  const [pages, setPages] = React.useState<Map<number, Model[]>>(new Map());
  const [total, setTotal] = React.useState<number | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const pagesRef = React.useRef(pages);
  pagesRef.current = pages;
  const inflight = React.useRef(new Set<number>());
  const generation = React.useRef(0);
  const visible = React.useRef<[number, number]>([0, 0]);

  const loadPage = React.useCallback(
    (page: number) => {
      if (inflight.current.has(page)) {
        return;
      }
      const gen = generation.current;
      inflight.current.add(page);
      const path = withQuery('models', {
        q: props.query,
        archived: props.archived ? 1 : undefined,
        limit: PAGE_SIZE,
        offset: page * PAGE_SIZE
      });
      requestAPI<{ models: Model[]; total: number }>(path)
        .then(answer => {
          if (gen !== generation.current) {
            return;
          }
          setError(null);
          setTotal(answer.total);
          setPages(previous => new Map(previous).set(page, answer.models));
        })
        .catch(reason => gen === generation.current && setError(errorMessage(reason)))
        .finally(() => gen === generation.current && inflight.current.delete(page));
    },
    [props.query, props.archived]
  );

  const onRangeChange = React.useCallback(
    (start: number, end: number) => {
      visible.current = [start, end];
      const lastPage = Math.floor(Math.max(start, end - 1) / PAGE_SIZE);
      for (let page = Math.floor(start / PAGE_SIZE); page <= lastPage; page++) {
        if (!pagesRef.current.has(page)) {
          loadPage(page);
        }
      }
    },
    [loadPage]
  );

  // First page on mount; on live refresh re-fetch only the visible pages.
  React.useEffect(() => {
    generation.current += 1;
    inflight.current.clear();
    const [start, end] = visible.current;
    const first = Math.floor(start / PAGE_SIZE);
    const lastPage = Math.floor(Math.max(start, end - 1) / PAGE_SIZE);
    setPages(previous => {
      const kept = new Map<number, Model[]>();
      previous.forEach((models, page) => page >= first && page <= lastPage && kept.set(page, models));
      return kept;
    });
    for (let page = first; page <= lastPage; page++) {
      loadPage(page);
    }
  }, [refreshKey, loadPage]);

  const rowAt = (index: number): Model | undefined =>
    pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];

  return (
    <>
      <ErrorBox message={error} />
      <div className="nbr-ListSummary">
        {total === null ? 'Loading…' : `${total.toLocaleString()} model${total === 1 ? '' : 's'}`}
      </div>
      {total === 0 && (
        <div className="nbr-Empty">
          {props.query
            ? `No model name contains “${props.query}”.`
            : 'No models yet. Register one from a notebook: nr.register(model, "name")'}
        </div>
      )}
      <VirtualList
        className="nbr-ModelRows"
        count={total ?? 0}
        rowHeight={ROW_HEIGHT}
        onRangeChange={onRangeChange}
        renderRow={index => {
          const model = rowAt(index);
          return model ? (
            <ModelRow model={model} onOpen={() => navigate({ kind: 'model', name: model.name })} />
          ) : (
            <div className="nbr-Row nbr-Row-placeholder">…</div>
          );
        }}
      />
    </>
  );
}

function ModelRow(props: { model: Model; onOpen: () => void }) {
  const { model } = props;
  const aliases = Object.entries(model.aliases ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div
      className={`nbr-Row nbr-ModelRow${model.archived ? ' nbr-mod-archived' : ''}`}
      role="button"
      tabIndex={0}
      data-model={model.name}
      onClick={props.onOpen}
      onKeyDown={event => event.key === 'Enter' && props.onOpen()}
    >
      <div className="nbr-Row-main">
        <span className="nbr-ModelName">{model.name}</span>
        {model.latest_version !== null && (
          <span className="nbr-Muted nbr-Latest">v{model.latest_version}</span>
        )}
        {model.archived && <span className="nbr-Chip nbr-Chip-archived">archived</span>}
      </div>
      <div className="nbr-Row-sub">
        <span className="nbr-Chips">
          {aliases.map(([alias, version]) => (
            <span key={alias} className="nbr-Chip nbr-Chip-alias" title={`${alias} → v${version}`}>
              @{alias}:{version}
            </span>
          ))}
        </span>
        <span className="nbr-Muted nbr-Count">
          {model.version_count} version{model.version_count === 1 ? '' : 's'}
        </span>
      </div>
    </div>
  );
}

function SearchResults(props: { expression: string }) {
  const { refreshKey, navigate } = useRegistry();
  const path = withQuery('search', { q: props.expression, limit: 500 });
  const { data, error } = useFetch<{ versions: ModelVersion[] }>(path, refreshKey);
  const versions = data?.versions ?? [];
  return (
    <>
      <ErrorBox message={error} />
      <div className="nbr-ListSummary">
        {data ? `${versions.length} matching version${versions.length === 1 ? '' : 's'}` : error ? '' : 'Searching…'}
      </div>
      <VirtualList
        className="nbr-ModelRows"
        count={versions.length}
        rowHeight={ROW_HEIGHT}
        renderRow={index => {
          const version = versions[index];
          const ref = version.ref || versionRef(version.name, version.version);
          const metrics = Object.entries(version.metrics ?? {}).slice(0, 3);
          return (
            <div
              className="nbr-Row nbr-VersionRow"
              role="button"
              tabIndex={0}
              data-ref={ref}
              onClick={() => navigate({ kind: 'version', ref })}
            >
              <div className="nbr-Row-main">
                <span className="nbr-ModelName">{ref}</span>
                <AliasChips aliases={version.aliases ?? []} />
              </div>
              <div className="nbr-Row-sub nbr-Muted">
                {metrics.map(([key, value]) => `${key}=${formatNumber(value)}`).join('  ')}
              </div>
            </div>
          );
        }}
      />
    </>
  );
}
