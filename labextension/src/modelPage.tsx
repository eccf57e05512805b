/** One model: description, tags, aliases, its own comments; versions (paged, sortable), a chart, alias history. */
import * as React from 'react';

import { refPath, withQuery } from './api';
import { MetricChart } from './chart';
import { CardSection } from './card';
import { CommentThreads } from './comments';
import { useRegistry, versionRef } from './context';
import { Markdown } from './markdown';
import { RollbackButton } from './promote';
import { AliasMove, Model, ModelVersion } from './types';
import {
  AliasChips,
  columnFormatter,
  ErrorBox,
  ISort,
  LinkButton,
  Loading,
  Pager,
  Section,
  SortHeader,
  TagChips,
  Time,
  useFetch
} from './ui';

const PAGE_SIZE = 50;
const CHART_VERSIONS = 100;

export function ModelPage(props: { name: string }) {
  const { refreshKey } = useRegistry();
  const model = useFetch<Model>(`models/${refPath(props.name)}`, refreshKey);
  const history = useFetch<{ moves: AliasMove[] }>(withQuery('history', { ref: props.name }), refreshKey);

  if (model.error && !model.data) {
    return <ErrorBox message={model.error} />;
  }
  if (!model.data) {
    return <Loading what={props.name} />;
  }
  const m = model.data;
  const moves = [...(history.data?.moves ?? [])].sort((a, b) => b.id - a.id);
  return (
    <div className="nbr-ModelPage" data-model={m.name}>
      <div className="nbr-PageHeader">
        <h2 className="nbr-Title">
          {m.name} {m.archived && <span className="nbr-Chip nbr-Chip-archived">archived</span>}
        </h2>
        <div className="nbr-Muted">
          created <Time iso={m.created_at} /> by {m.created_by} · {m.version_count} version{m.version_count === 1 ? '' : 's'}
          {m.latest_version !== null && ` · latest v${m.latest_version}`}
        </div>
        <TagChips tags={m.tags ?? {}} />
        {m.description ? (
          <div className="nbr-Description">
            <Markdown source={m.description} />
          </div>
        ) : (
          <div className="nbr-Muted">No description.</div>
        )}
      </div>
      <div className="nbr-Columns">
        <div className="nbr-Column-main">
          <VersionsTable model={m} />
          <VersionsChart model={m} />
          <CardSection target={m.name} model={m.name} />
        </div>
        <div className="nbr-Column-side">
          <Section title="Aliases">
            <AliasList model={m} moves={moves} />
          </Section>
          <Section title="Comments on the model">
            <CommentThreads target={m.name} />
          </Section>
        </div>
      </div>
      <Section title="Alias history">
        <ErrorBox message={history.error} />
        <HistoryTable moves={moves} />
      </Section>
    </div>
  );
}

/** Versions a page at a time, sorted on the server (GET /search with order_by); total = the model's count. */
function VersionsTable(props: { model: Model }) {
  const { navigate, refreshKey } = useRegistry();
  const [selected, setSelected] = React.useState<string[]>([]);
  const [sort, setSort] = React.useState<ISort>({ column: 'version', descending: true });
  const [offset, setOffset] = React.useState(0);
  const order = `${sort.column} ${sort.descending ? 'desc' : 'asc'}`;
  const { data, error, loading } = useFetch<{ versions: ModelVersion[] }>(
    withQuery('search', { q: `name = "${props.model.name}"`, order_by: order, limit: PAGE_SIZE, offset }),
    refreshKey
  );
  const versions = data?.versions ?? [];
  const metricKeys = React.useMemo(() => {
    const keys = new Set<string>();
    versions.forEach(v => Object.keys(v.metrics ?? {}).forEach(k => keys.add(k)));
    return Array.from(keys).sort();
  }, [versions]);
  const formats = React.useMemo(
    () => new Map(metricKeys.map(key => [key, columnFormatter(versions.map(v => v.metrics?.[key]))])),
    [metricKeys, versions]
  );
  const onSort = (next: ISort) => {
    setSort(next);
    setOffset(0);
  };
  const toggle = (ref: string) =>
    setSelected(current => (current.includes(ref) ? current.filter(r => r !== ref) : [...current, ref]));

  const actions = (
    <span className="nbr-FormRow">
      {selected.length > 0 && (
        <button type="button" className="jp-Button jp-mod-styled nbr-ClearSelection" onClick={() => setSelected([])}>
          Clear {selected.length}
        </button>
      )}
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-mod-accept nbr-CompareButton"
        disabled={selected.length < 2}
        title={selected.length < 2 ? 'Select two or more versions to compare them' : `Compare ${selected.join(', ')}`}
        onClick={() => navigate({ kind: 'compare', refs: selected })}
      >
        Compare{selected.length >= 2 ? ` ${selected.length}` : ''}
      </button>
    </span>
  );
  const total = props.model.version_count;
  return (
    <Section title={`Versions (${total.toLocaleString()})`} actions={actions}>
      <ErrorBox message={error} />
      {!data && !error && <Loading what="versions" />}
      {data && (
        <div className={`nbr-TableScroll nbr-VersionsScroll${loading ? ' nbr-mod-loading' : ''}`}>
          <table className="nbr-Table nbr-VersionsTable">
            <thead>
              <tr>
                <SortHeader column="version" label="version" sort={sort} onSort={onSort} className="nbr-Sticky" firstDescending />
                <th>aliases</th>
                <SortHeader column="author" label="author" sort={sort} onSort={onSort} />
                <SortHeader column="created" label="created" sort={sort} onSort={onSort} firstDescending />
                {metricKeys.map(key => (
                  <SortHeader
                    key={key}
                    column={`metrics.${key}`}
                    label={key}
                    sort={sort}
                    onSort={onSort}
                    className="nbr-Num"
                    firstDescending
                  />
                ))}
              </tr>
            </thead>
            <tbody>
              {versions.map(v => {
                const ref = v.ref || versionRef(v.name, v.version);
                return (
                  <tr key={ref} data-ref={ref} className={`nbr-VersionRow${v.status === 'archived' ? ' nbr-mod-archived' : ''}`}>
                    <th className="nbr-Sticky">
                      <input
                        type="checkbox"
                        aria-label={`select ${ref}`}
                        checked={selected.includes(ref)}
                        onChange={() => toggle(ref)}
                      />
                      <LinkButton onClick={() => navigate({ kind: 'version', ref })} title={`Open ${ref}`}>
                        v{v.version}
                      </LinkButton>
                    </th>
                    <td>
                      <AliasChips aliases={v.aliases ?? []} />
                    </td>
                    <td>{v.author}</td>
                    <td>
                      <Time iso={v.created_at} />
                    </td>
                    {metricKeys.map(key => (
                      <td key={key} className="nbr-Num">
                        {formats.get(key)?.(v.metrics?.[key])}
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {total > PAGE_SIZE && (
        <Pager offset={offset} limit={PAGE_SIZE} total={total} shown={versions.length} onChange={setOffset} noun="versions" />
      )}
    </Section>
  );
}

/** A metric over the latest versions, oldest to newest. */
function VersionsChart(props: { model: Model }) {
  const { refreshKey, settings } = useRegistry();
  const { data } = useFetch<{ versions: ModelVersion[] }>(
    withQuery('search', { q: `name = "${props.model.name}"`, order_by: 'version desc', limit: CHART_VERSIONS }),
    refreshKey
  );
  const versions = React.useMemo(() => [...(data?.versions ?? [])].reverse(), [data]);
  const names = React.useMemo(() => {
    const keys = new Set<string>();
    versions.forEach(v => Object.keys(v.metrics ?? {}).forEach(k => keys.add(k)));
    return Array.from(keys).sort();
  }, [versions]);
  const [chosen, setChosen] = React.useState<string | null>(null);
  const metric = chosen ?? (names.includes(settings.defaultMetric) ? settings.defaultMetric : names[0]);
  if (!metric || versions.length < 2) {
    return null;
  }
  const picker = (
    <select className="jp-mod-styled nbr-MetricPicker" aria-label="metric to chart" value={metric} onChange={e => setChosen(e.target.value)}>
      {names.map(name => (
        <option key={name} value={name}>
          {name}
        </option>
      ))}
    </select>
  );
  const title =
    props.model.version_count > versions.length ? `${metric} over the latest ${versions.length} versions` : `${metric} over versions`;
  return (
    <Section title={title} actions={picker}>
      <div className="nbr-ChartScroll">
        <MetricChart
          kind="line"
          title={metric}
          labels={versions.map(v => `v${v.version}`)}
          values={versions.map(v => v.metrics?.[metric] ?? null)}
          best={[]}
          width={Math.max(480, Math.min(1100, versions.length * 24 + 100))}
        />
      </div>
    </Section>
  );
}

/** The version an alias returns to on rollback: the one it held before its last move (null: none). */
export function rollbackTarget(moves: AliasMove[], alias: string): number | null {
  const last = moves.filter(m => m.alias.toLowerCase() === alias.toLowerCase()).sort((a, b) => b.id - a.id)[0];
  return last ? last.previous : null;
}

function AliasList(props: { model: Model; moves: AliasMove[] }) {
  const { navigate } = useRegistry();
  const aliases = Object.entries(props.model.aliases ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (!aliases.length) {
    return <div className="nbr-Muted">No aliases. Promote a version from its page (Actions).</div>;
  }
  return (
    <table className="nbr-Table nbr-AliasTable">
      <tbody>
        {aliases.map(([alias, version]) => (
          <tr key={alias} data-alias={alias}>
            <th>@{alias}</th>
            <td>
              <LinkButton onClick={() => navigate({ kind: 'version', ref: versionRef(props.model.name, version) })}>
                v{version}
              </LinkButton>
            </td>
            <td>
              <RollbackButton model={props.model.name} alias={alias} target={rollbackTarget(props.moves, alias)} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function HistoryTable(props: { moves: AliasMove[] }) {
  if (!props.moves.length) {
    return <div className="nbr-Muted">No alias has moved yet.</div>;
  }
  const describe = (v: number | null) => (v === null ? 'none' : `v${v}`);
  return (
    <div className="nbr-TableScroll">
      <table className="nbr-Table nbr-HistoryTable">
        <thead>
          <tr>
            <th>time</th>
            <th>alias</th>
            <th>move</th>
            <th>kind</th>
            <th>by</th>
            <th>reason</th>
          </tr>
        </thead>
        <tbody>
          {props.moves.map(move => (
            <tr key={move.id} data-move={move.id}>
              <td>
                <Time iso={move.time} />
              </td>
              <td>@{move.alias}</td>
              <td className="nbr-Nowrap">
                {describe(move.previous)} → {describe(move.version)}
              </td>
              <td>
                {move.kind}
                {move.forced && <span className="nbr-Chip nbr-Chip-request-changes" title="gates were overridden">forced</span>}
              </td>
              <td>{move.actor}</td>
              <td className="nbr-Reason">
                {move.reason ? move.reason : <span className="nbr-Muted">no reason given</span>}
                {move.report && !move.report.allowed && (
                  <div className="nbr-Muted">
                    failed gates: {move.report.gates.filter(g => !g.passed).map(g => g.name).join(', ')}
                  </div>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
