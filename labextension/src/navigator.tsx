/**
 * The left sidebar: a compact navigator. A search box and a windowed list of models (10,000+ scroll
 * smoothly); choosing a model opens it in the main area, as does the header's "Open" button.
 */
import * as React from 'react';
import { launchIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';

import { errorMessage, requestAPI, withQuery } from './api';
import { Route } from './context';
import { registryIcon } from './icon';
import { Banner, IAppServices, RegistryWidget } from './services';
import { Model } from './types';
import { ErrorBox, Skeleton } from './ui';
import { VirtualList } from './virtualList';

const PAGE_SIZE = 200;
const ROW_HEIGHT = 44;

export class RegistryNavigator extends RegistryWidget {
  constructor(
    services: IAppServices,
    private readonly openApp: () => void
  ) {
    super(services);
    this.id = 'nbregistry-panel';
    this.title.icon = registryIcon;
    this.title.caption = 'Model Registry';
    this.addClass('nbr-Panel');
    this.addClass('nbr-Navigator');
  }

  protected render(): JSX.Element {
    const banner = this.services.banner();
    return (
      <>
        <div className="nbr-Header jp-Toolbar">
          <span className="nbr-Header-title">Model Registry</span>
          <ToolbarButtonComponent
            icon={launchIcon}
            label="Open"
            tooltip="Open the Model Registry in the main area"
            className="nbr-OpenApp"
            onClick={this.openApp}
          />
        </div>
        <Banner message={banner} />
        <NavigatorList refreshKey={this.refreshKey} open={route => this.services.openTab(route)} />
      </>
    );
  }
}

function NavigatorList(props: { refreshKey: number; open: (route: Route) => void }) {
  const [text, setText] = React.useState('');
  const [query, setQuery] = React.useState('');
  React.useEffect(() => {
    const timer = window.setTimeout(() => setQuery(text.trim()), 250);
    return () => window.clearTimeout(timer);
  }, [text]);
  return (
    <div className="nbr-ModelList">
      <div className="nbr-SearchBar">
        <input
          className="jp-mod-styled nbr-SearchInput"
          type="search"
          placeholder="Find a model"
          title="Filter models by name, description or tag; the main-area app also takes search expressions"
          aria-label="Find a model"
          value={text}
          onChange={event => setText(event.target.value)}
        />
      </div>
      <PagedModels key={query} query={query} refreshKey={props.refreshKey} open={props.open} />
    </div>
  );
}

/** Models fetched page by page as they scroll into view; each page is asked for once. */
function PagedModels(props: { query: string; refreshKey: number; open: (route: Route) => void }) {
  const [pages, setPages] = React.useState<Map<number, Model[]>>(new Map());
  const [total, setTotal] = React.useState<number | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const pagesRef = React.useRef(pages);
  pagesRef.current = pages;
  const inflight = React.useRef(new Set<number>());
  const generation = React.useRef(0);
  const visible = React.useRef<[number, number]>([0, 0]);
  const firstRefresh = React.useRef(props.refreshKey);

  const loadPage = React.useCallback(
    (page: number) => {
      if (inflight.current.has(page)) {
        return;
      }
      const gen = generation.current;
      inflight.current.add(page);
      const path = withQuery('models', { q: props.query, limit: PAGE_SIZE, offset: page * PAGE_SIZE });
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
    [props.query]
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

  // The first page, once, on mount (the list is empty, so no range change asks for it).
  React.useEffect(() => loadPage(0), [loadPage]);

  // Live refresh: re-fetch only the visible pages (not on mount: the first page is already asked for).
  React.useEffect(() => {
    if (props.refreshKey === firstRefresh.current) {
      return;
    }
    firstRefresh.current = props.refreshKey;
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
  }, [props.refreshKey, loadPage]);

  const rowAt = (index: number): Model | undefined =>
    pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];

  return (
    <>
      <ErrorBox message={error} />
      <div className="nbr-ListSummary">
        {total === null ? (error ? '' : <Skeleton width="8em" />) : `${total.toLocaleString()} model${total === 1 ? '' : 's'}`}
      </div>
      {total === 0 && (
        <div className="nbr-Empty">
          {props.query
            ? `No model matches “${props.query}”.`
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
            <NavigatorRow model={model} onOpen={() => props.open({ kind: 'model', name: model.name })} />
          ) : (
            <div className="nbr-Row nbr-Row-placeholder">
              <Skeleton width="60%" />
            </div>
          );
        }}
      />
    </>
  );
}

function NavigatorRow(props: { model: Model; onOpen: () => void }) {
  const { model } = props;
  const aliases = Object.entries(model.aliases ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div
      className={`nbr-Row nbr-ModelRow${model.archived ? ' nbr-mod-archived' : ''}`}
      role="button"
      tabIndex={0}
      data-model={model.name}
      title={`Open ${model.name} in the main area`}
      onClick={props.onOpen}
      onKeyDown={event => event.key === 'Enter' && props.onOpen()}
    >
      <div className="nbr-Row-main">
        <span className="nbr-ModelName">{model.name}</span>
        {model.latest_version !== null && <span className="nbr-Muted nbr-Latest">v{model.latest_version}</span>}
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
