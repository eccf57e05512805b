/** One version: what it is, how it was made, what people say, and where its aliases point. */
import * as React from 'react';

import { apiUrl, refPath } from './api';
import { useRegistry } from './context';
import { CommentThreads } from './comments';
import { LineageView, SignatureView } from './lineage';
import { PromoteForm, RollbackButton } from './promote';
import { Model, ModelVersion } from './types';
import {
  AliasChips,
  ErrorBox,
  formatBytes,
  formatTime,
  KeyValueTable,
  LinkButton,
  Loading,
  Section,
  useFetch
} from './ui';

export function VersionPage(props: { versionRef: string }) {
  const { refreshKey, navigate, insertLoadCode } = useRegistry();
  const { data: version, error } = useFetch<ModelVersion>(`versions/${refPath(props.versionRef)}`, refreshKey);
  const model = useFetch<Model>(version ? `models/${refPath(version.name)}` : null, refreshKey);
  const [insertError, setInsertError] = React.useState<string | null>(null);

  if (error && !version) {
    return <ErrorBox message={error} />;
  }
  if (!version) {
    return <Loading />;
  }
  const ref = version.ref || `${version.name}:${version.version}`;
  const knownAliases = Object.keys(model.data?.aliases ?? {});

  return (
    <div className="nbr-VersionPage" data-ref={ref}>
      <h2 className="nbr-Title">
        <LinkButton onClick={() => navigate({ kind: 'model', name: version.name })}>{version.name}</LinkButton>
        <span>:{version.version}</span>
        <AliasChips aliases={version.aliases ?? []} />
        {version.status === 'archived' && <span className="nbr-Chip nbr-Chip-archived">archived</span>}
      </h2>
      <div className="nbr-FormRow">
        <button
          className="jp-Button jp-mod-styled jp-mod-accept nbr-InsertLoad"
          title="Insert a cell that loads this version into the active notebook"
          onClick={() => setInsertError(insertLoadCode(ref))}
        >
          Insert load code
        </button>
      </div>
      <ErrorBox message={insertError} onDismiss={() => setInsertError(null)} />
      {version.description && <p className="nbr-Description">{version.description}</p>}
      <KeyValueTable
        data={{
          author: version.author,
          created: formatTime(version.created_at),
          flavor: version.flavor,
          status: version.status,
          size: formatBytes(version.artifact?.size ?? 0),
          sha256: (version.artifact?.sha256 ?? '').slice(0, 16),
          'input example': version.has_input_example ? 'yes' : 'no'
        }}
      />
      <Section title="Metrics">
        <KeyValueTable data={version.metrics ?? {}} empty="No metrics." />
      </Section>
      <Section title="Params">
        <KeyValueTable data={version.params ?? {}} empty="No params." />
      </Section>
      <Section title="Tags">
        <KeyValueTable data={version.tags ?? {}} empty="No tags." />
      </Section>
      <Section title="Signature">
        <SignatureView signature={version.signature} />
      </Section>
      <Section title="Promote">
        <PromoteForm versionRef={ref} knownAliases={knownAliases} />
        {(version.aliases ?? []).map(alias => (
          <div className="nbr-FormRow" key={alias}>
            <span>@{alias}</span>
            <RollbackButton aliasRef={`${version.name}@${alias}`} />
          </div>
        ))}
      </Section>
      <Section title="Comments and reviews">
        <CommentThreads versionRef={ref} />
      </Section>
      <Section title="Files">
        <FileList versionRef={ref} files={version.artifact?.files ?? []} />
      </Section>
      <Section title="Lineage">
        <LineageView lineage={version.lineage} />
      </Section>
    </div>
  );
}

function FileList(props: { versionRef: string; files: { path: string; size: number }[] }) {
  if (!props.files.length) {
    return <div className="nbr-Muted">No files.</div>;
  }
  const href = (path: string) =>
    apiUrl(`versions/${refPath(props.versionRef)}/files/${path.split('/').map(encodeURIComponent).join('/')}`);
  return (
    <table className="nbr-Table">
      <tbody>
        {props.files.map(file => (
          <tr key={file.path}>
            <td>
              <a className="nbr-Link" href={href(file.path)} download={file.path.split('/').pop()}>
                {file.path}
              </a>
            </td>
            <td className="nbr-Num">{formatBytes(file.size)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
