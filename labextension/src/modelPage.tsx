/** One model: its versions (with metrics and aliases), its aliases and their history. */
import * as React from 'react';

import { refPath, withQuery } from './api';
import { useRegistry, versionRef } from './context';
import { RollbackButton } from './promote';
import { AliasMove, Model, ModelVersion } from './types';
import { AliasChips, columnFormatter, ErrorBox, formatTime, LinkButton, Loading, Section, useFetch } from './ui';

export function ModelPage(props: { name: string }) {
  const { refreshKey } = useRegistry();
  const model = useFetch<Model>(`models/${refPath(props.name)}`, refreshKey);
  const versions = useFetch<{ versions: ModelVersion[]; total: number }>(
    withQuery(`models/${refPath(props.name)}/versions`, { limit: 500 }),
    refreshKey
  );
  const history = useFetch<{ moves: AliasMove[] }>(withQuery('history', { ref: props.name }), refreshKey);

  if (model.error && !model.data) {
    return <ErrorBox message={model.error} />;
  }
  if (!model.data) {
    return <Loading />;
  }
  const m = model.data;
  return (
    <div className="nbr-ModelPage">
      <h2 className="nbr-Title">
        {m.name} {m.archived && <span className="nbr-Chip nbr-Chip-archived">archived</span>}
      </h2>
      {m.description && <p className="nbr-Description">{m.description}</p>}
      <div className="nbr-Muted">
        created {formatTime(m.created_at)} by {m.created_by} · {m.version_count} version
        {m.version_count === 1 ? '' : 's'}
      </div>
      <ErrorBox message={versions.error} />
      <VersionsTable model={m} versions={versions.data?.versions ?? []} total={versions.data?.total ?? 0} />
      <Section title="Aliases">
        <AliasList model={m} />
      </Section>
      <Section title="Alias history">
        <ErrorBox message={history.error} />
        <HistoryTable moves={[...(history.data?.moves ?? [])].sort((a, b) => b.id - a.id)} />
      </Section>
    </div>
  );
}

function VersionsTable(props: { model: Model; versions: ModelVersion[]; total: number }) {
  const { navigate } = useRegistry();
  const [selected, setSelected] = React.useState<string[]>([]);
  const metricKeys = React.useMemo(() => {
    const keys = new Set<string>();
    props.versions.forEach(v => Object.keys(v.metrics ?? {}).forEach(k => keys.add(k)));
    return Array.from(keys).sort();
  }, [props.versions]);
  const formats = React.useMemo(
    () => new Map(metricKeys.map(key => [key, columnFormatter(props.versions.map(v => v.metrics?.[key]))])),
    [metricKeys, props.versions]
  );

  const toggle = (ref: string) =>
    setSelected(current => (current.includes(ref) ? current.filter(r => r !== ref) : [...current, ref]));

  const compare = (
    <button
      className="jp-Button jp-mod-styled jp-mod-accept nbr-CompareButton"
      disabled={selected.length < 2}
      title="Select two or more versions to compare them"
      onClick={() => navigate({ kind: 'compare', refs: selected })}
    >
      Compare {selected.length >= 2 ? selected.length : ''}
    </button>
  );
  return (
    <Section title={`Versions (${props.total})`} actions={compare}>
      <div className="nbr-TableScroll">
        <table className="nbr-Table nbr-VersionsTable">
          <thead>
            <tr>
              <th />
              <th>version</th>
              <th>author</th>
              <th>created</th>
              {metricKeys.map(key => (
                <th key={key} className="nbr-Num">
                  {key}
                </th>
              ))}
              <th>aliases</th>
            </tr>
          </thead>
          <tbody>
            {props.versions.map(v => {
              const ref = v.ref || versionRef(v.name, v.version);
              return (
                <tr key={ref} data-ref={ref} className={v.status === 'archived' ? 'nbr-mod-archived' : ''}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`select ${ref}`}
                      checked={selected.includes(ref)}
                      onChange={() => toggle(ref)}
                    />
                  </td>
                  <td>
                    <LinkButton onClick={() => navigate({ kind: 'version', ref })}>v{v.version}</LinkButton>
                  </td>
                  <td>{v.author}</td>
                  <td className="nbr-Nowrap">{formatTime(v.created_at)}</td>
                  {metricKeys.map(key => (
                    <td key={key} className="nbr-Num">
                      {formats.get(key)?.(v.metrics?.[key])}
                    </td>
                  ))}
                  <td>
                    <AliasChips aliases={v.aliases ?? []} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </Section>
  );
}

function AliasList(props: { model: Model }) {
  const aliases = Object.entries(props.model.aliases ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (!aliases.length) {
    return <div className="nbr-Muted">No aliases. Promote a version from its page.</div>;
  }
  return (
    <table className="nbr-Table">
      <tbody>
        {aliases.map(([alias, version]) => (
          <tr key={alias} data-alias={alias}>
            <th>@{alias}</th>
            <td>v{version}</td>
            <td>
              <RollbackButton aliasRef={`${props.model.name}@${alias}`} />
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
  const describe = (v: number | null) => (v === null ? '∅' : `v${v}`);
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
            <tr key={move.id}>
              <td className="nbr-Nowrap">{formatTime(move.time)}</td>
              <td>@{move.alias}</td>
              <td className="nbr-Nowrap">
                {describe(move.previous)} → {describe(move.version)}
              </td>
              <td>
                {move.kind}
                {move.forced ? ' (forced)' : ''}
              </td>
              <td>{move.actor}</td>
              <td>{move.reason ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
