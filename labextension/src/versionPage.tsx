/** One version in sections that fit a wide screen: overview, lineage, files, discussion, actions. */
import * as React from 'react';

import { apiUrl, refPath, withQuery } from './api';
import { CardSection } from './card';
import { CommentThreads, ReviewSummary } from './comments';
import { useRegistry } from './context';
import { LineageView, SignatureView } from './lineage';
import { Markdown } from './markdown';
import { rollbackTarget } from './modelPage';
import { PromoteForm, RollbackButton } from './promote';
import { RevertButton } from './revert';
import { AliasMove, Model, ModelVersion } from './types';
import { AliasChips, ErrorBox, formatBytes, KeyValueTable, LinkButton, Loading, Section, TagChips, Tabs, Time, useFetch } from './ui';

export interface IDiff {
  a: string;
  b: string;
  changes: Record<string, { key: string; a: unknown; b: unknown }[]>;
}

const SECTIONS = [
  { id: 'overview', label: 'Overview' },
  { id: 'lineage', label: 'Lineage' },
  { id: 'files', label: 'Files' },
  { id: 'discussion', label: 'Discussion' },
  { id: 'actions', label: 'Actions' }
];

/** Every anchor a comment on this version may use (the core checks the same list). */
export function versionAnchors(v: ModelVersion): string[] {
  const cells = v.lineage?.notebook?.cells ?? [];
  return [
    ...Object.keys(v.metrics ?? {}).sort().map(k => `metrics.${k}`),
    ...Object.keys(v.params ?? {}).sort().map(k => `params.${k}`),
    ...Object.keys(v.tags ?? {}).sort().map(k => `tags.${k}`),
    ...Object.keys(v.lineage?.data ?? {}).sort().map(k => `data.${k}`),
    ...cells.filter(c => c.execution_count !== null).map(c => `cell:${c.execution_count}`),
    ...(v.signature ? ['signature'] : []),
    'description'
  ];
}

export function VersionPage(props: { versionRef: string; section?: string }) {
  const { refreshKey, navigate } = useRegistry();
  const { data: version, error } = useFetch<ModelVersion>(`versions/${refPath(props.versionRef)}`, refreshKey);
  const [section, setSection] = React.useState(props.section ?? 'overview');
  const previous = version && version.version > 1 ? `${version.name}:${version.version - 1}` : null;
  const diff = useFetch<IDiff>(previous && version ? withQuery('diff', { a: previous, b: version.ref }) : null, refreshKey);

  if (error && !version) {
    return <ErrorBox message={error} />;
  }
  if (!version) {
    return <Loading what={props.versionRef} />;
  }
  const ref = version.ref || `${version.name}:${version.version}`;
  return (
    <div className="nbr-VersionPage" data-ref={ref}>
      <div className="nbr-PageHeader">
        <h2 className="nbr-Title">
          <LinkButton onClick={() => navigate({ kind: 'model', name: version.name })}>{version.name}</LinkButton>
          <span>:{version.version}</span>
          <AliasChips aliases={version.aliases ?? []} />
          {version.status === 'archived' && <span className="nbr-Chip nbr-Chip-archived">archived</span>}
          {version.lineage?.revert_of && <RevertOf link={version.lineage.revert_of} />}
        </h2>
        <div className="nbr-Muted">
          {version.flavor} · by {version.author} · <Time iso={version.created_at} /> · {formatBytes(version.artifact?.size ?? 0)}
        </div>
      </div>
      <Tabs tabs={SECTIONS} current={section} onChange={setSection} />
      <div className="nbr-TabPanel" role="tabpanel" data-section={section}>
        {section === 'overview' && <Overview version={version} diff={diff.data} />}
        {section === 'lineage' && <LineageSection version={version} diff={diff.data} previous={previous} diffError={diff.error} />}
        {section === 'files' && (
          <Section title="Files">
            <FileList versionRef={ref} files={version.artifact?.files ?? []} />
          </Section>
        )}
        {section === 'discussion' && (
          <div className="nbr-Columns">
            <div className="nbr-Column-main">
              <Section title="Comments and reviews">
                <CommentThreads target={ref} anchors={versionAnchors(version)} reviews />
              </Section>
            </div>
            <div className="nbr-Column-side">
              <Section title="Approvals">
                <ReviewSummary versionRef={ref} author={version.author} />
              </Section>
            </div>
          </div>
        )}
        {section === 'actions' && <Actions version={version} />}
      </div>
    </div>
  );
}

/** "revert of churn:1", linking to it; who reverted and why in the tooltip. */
function RevertOf(props: { link: NonNullable<ModelVersion['lineage']['revert_of']> }) {
  const { navigate } = useRegistry();
  const { link } = props;
  const why = [link.reverted_by && `by ${link.reverted_by}`, link.reason].filter(Boolean).join(': ');
  return (
    <span className="nbr-Chip nbr-RevertOf" title={why ? `reverted ${why}` : undefined}>
      revert of <LinkButton onClick={() => navigate({ kind: 'version', ref: link.ref })}>{link.ref}</LinkButton>
    </span>
  );
}

function Overview(props: { version: ModelVersion; diff: IDiff | null }) {
  const v = props.version;
  const changed = new Set((props.diff?.changes?.params ?? []).map(c => c.key));
  const params = Object.keys(v.params ?? {}).sort();
  // With a previous version: what changed is shown, what stayed is folded. Without: long lists fold after 8.
  const shown = props.diff ? params.filter(k => changed.has(k)) : params.slice(0, 8);
  const folded = params.filter(k => !shown.includes(k));
  const pick = (keys: string[]) => Object.fromEntries(keys.map(k => [k, v.params[k]]));
  return (
    <div className="nbr-Columns">
      <div className="nbr-Column-main">
        <Section title="Description">
          {v.description ? <Markdown source={v.description} /> : <div className="nbr-Muted">No description.</div>}
        </Section>
        <CardSection target={v.ref || `${v.name}:${v.version}`} model={v.name} />
        <Section title="Metrics">
          <KeyValueTable data={v.metrics ?? {}} empty="No metrics." />
        </Section>
        <Section title={`Params (${params.length})`}>
          {props.diff && <div className="nbr-Muted">{shown.length ? 'changed since the previous version:' : 'none changed since the previous version'}</div>}
          {shown.length > 0 && <KeyValueTable data={pick(shown)} />}
          {folded.length > 0 && (
            <details className="nbr-Folded">
              <summary>
                {folded.length} {props.diff ? 'unchanged ' : 'more '}param{folded.length === 1 ? '' : 's'}
              </summary>
              <KeyValueTable data={pick(folded)} />
            </details>
          )}
          {!params.length && <div className="nbr-Muted">No params.</div>}
        </Section>
      </div>
      <div className="nbr-Column-side">
        <Section title="Tags">
          {Object.keys(v.tags ?? {}).length ? <TagChips tags={v.tags} /> : <div className="nbr-Muted">No tags.</div>}
        </Section>
        <Section title="Facts">
          <KeyValueTable
            data={{
              author: v.author,
              flavor: v.flavor,
              status: v.status,
              size: formatBytes(v.artifact?.size ?? 0),
              sha256: (v.artifact?.sha256 ?? '').slice(0, 16),
              'input example': v.has_input_example ? 'yes' : 'no'
            }}
          />
        </Section>
        <Section title="Signature">
          {v.signature ? (
            <details className="nbr-Folded nbr-SignatureFold">
              <summary>
                {v.signature.type === 'dataframe' ? `${v.signature.columns.length} input columns` : `tensor ${v.signature.dtype}`}
              </summary>
              <SignatureView signature={v.signature} />
            </details>
          ) : (
            <div className="nbr-Muted">No signature recorded.</div>
          )}
        </Section>
      </div>
    </div>
  );
}

function LineageSection(props: { version: ModelVersion; diff: IDiff | null; previous: string | null; diffError: string | null }) {
  const env = props.diff?.changes?.environment ?? [];
  const data = props.diff?.changes?.data ?? [];
  return (
    <div className="nbr-Columns">
      <div className="nbr-Column-main">
        <LineageView lineage={props.version.lineage} />
      </div>
      <div className="nbr-Column-side">
        <Section title={props.previous ? `Environment vs ${props.previous}` : 'Environment'}>
          {!props.previous ? (
            <div className="nbr-Muted">The first version: nothing to compare with.</div>
          ) : props.diffError ? (
            <div className="nbr-Muted">Cannot compare with {props.previous}: {props.diffError}</div>
          ) : !props.diff ? (
            <Loading what="the difference" />
          ) : env.length + data.length === 0 ? (
            <div className="nbr-Muted">Same environment and data as {props.previous}.</div>
          ) : (
            <table className="nbr-Table nbr-EnvDiff">
              <thead>
                <tr>
                  <th />
                  <th>{props.previous}</th>
                  <th>this</th>
                </tr>
              </thead>
              <tbody>
                {[...env, ...data.map(d => ({ ...d, key: `data ${d.key}` }))].map(change => (
                  <tr key={change.key}>
                    <th>{change.key.replace(/^package:/, '')}</th>
                    <td className="nbr-Mono">{change.a === null || change.a === undefined ? '—' : String(change.a).slice(0, 24)}</td>
                    <td className="nbr-Mono">{change.b === null || change.b === undefined ? '—' : String(change.b).slice(0, 24)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Section>
      </div>
    </div>
  );
}

function Actions(props: { version: ModelVersion }) {
  const { refreshKey, insertLoadCode } = useRegistry();
  const v = props.version;
  const ref = v.ref || `${v.name}:${v.version}`;
  const model = useFetch<Model>(`models/${refPath(v.name)}`, refreshKey);
  const history = useFetch<{ moves: AliasMove[] }>(withQuery('history', { ref: v.name }), refreshKey);
  const [insertError, setInsertError] = React.useState<string | null>(null);
  const knownAliases = Object.keys(model.data?.aliases ?? {});
  const moves = history.data?.moves ?? [];
  return (
    <div className="nbr-Columns">
      <div className="nbr-Column-main">
        <Section title="Promote">
          <PromoteForm versionRef={ref} model={v.name} knownAliases={knownAliases} />
        </Section>
        <Section title="Roll back">
          {!(v.aliases ?? []).length && <div className="nbr-Muted">No alias points at {ref}.</div>}
          {!history.data && !history.error && (v.aliases ?? []).length > 0 && <Loading what="alias history" />}
          {history.data &&
            (v.aliases ?? []).map(alias => (
              <div className="nbr-FormRow" key={alias} data-alias={alias}>
                <span className="nbr-Chip nbr-Chip-alias">@{alias}</span>
                <RollbackButton model={v.name} alias={alias} target={rollbackTarget(moves, alias)} />
              </div>
            ))}
          <ErrorBox message={history.error} />
        </Section>
        <Section title="Revert">
          <RevertButton version={v} model={model.data} />
        </Section>
      </div>
      <div className="nbr-Column-side">
        <Section title="Use it">
          <button
            type="button"
            className="jp-Button jp-mod-styled nbr-InsertLoad"
            title="Insert a cell that loads this version into the active notebook"
            onClick={() => setInsertError(insertLoadCode(ref))}
          >
            Insert load code
          </button>
          <ErrorBox message={insertError} onDismiss={() => setInsertError(null)} />
        </Section>
      </div>
    </div>
  );
}

function FileList(props: { versionRef: string; files: { path: string; size: number; sha256?: string }[] }) {
  if (!props.files.length) {
    return <div className="nbr-Muted">No files.</div>;
  }
  const href = (path: string) =>
    apiUrl(`versions/${refPath(props.versionRef)}/files/${path.split('/').map(encodeURIComponent).join('/')}`);
  return (
    <table className="nbr-Table nbr-FileTable">
      <thead>
        <tr>
          <th>file</th>
          <th className="nbr-Num">size</th>
          <th>sha256</th>
        </tr>
      </thead>
      <tbody>
        {props.files.map(file => (
          <tr key={file.path}>
            <td>
              <a className="nbr-Link" href={href(file.path)} download={file.path.split('/').pop()}>
                {file.path}
              </a>
            </td>
            <td className="nbr-Num">{formatBytes(file.size)}</td>
            <td className="nbr-Mono">{(file.sha256 ?? '').slice(0, 12)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
