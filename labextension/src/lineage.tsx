/** How a version was made: environment, git, data fingerprints, notebook cells. */
import * as React from 'react';

import { Markdown } from './markdown';
import { Lineage, ModelVersion } from './types';
import { KeyValueTable } from './ui';

export function LineageView(props: { lineage: Lineage | null | undefined }) {
  const lineage = props.lineage ?? {};
  const git = lineage.git;
  const data = lineage.data ?? {};
  const imported = (lineage.packages ?? []).filter(p => p.imported);
  return (
    <div className="nbr-Lineage">
      <KeyValueTable
        data={{
          python: lineage.python ?? null,
          platform: lineage.platform ?? null,
          git: git ? `${git.branch ?? '?'} @ ${(git.commit ?? '').slice(0, 10)}${git.dirty ? ' (dirty)' : ''}` : null,
          'git remote': git?.remote ?? null
        }}
      />
      {imported.length > 0 && (
        <details className="nbr-Packages">
          <summary>
            {imported.length} imported package{imported.length === 1 ? '' : 's'} (of {lineage.packages?.length ?? 0}{' '}
            installed)
          </summary>
          <div className="nbr-Mono">{imported.map(p => `${p.name} ${p.version}`).join(', ')}</div>
        </details>
      )}
      {Object.keys(data).length > 0 && (
        <>
          <h4>Data</h4>
          <table className="nbr-Table">
            <thead>
              <tr>
                <th>label</th>
                <th>kind</th>
                <th>shape</th>
                <th>sha256</th>
                <th>columns</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(data).map(([label, fp]) => (
                <tr key={label}>
                  <th>{label}</th>
                  <td>{fp.kind ?? ''}</td>
                  <td>{fp.shape ? fp.shape.join(' × ') : ''}</td>
                  <td className="nbr-Mono" title={fp.sha256}>
                    {(fp.sha256 ?? '').slice(0, 12)}
                  </td>
                  <td>{(fp.columns ?? []).join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <NotebookCells notebook={lineage.notebook ?? null} />
    </div>
  );
}

function NotebookCells(props: { notebook: Lineage['notebook'] }) {
  const notebook = props.notebook;
  if (!notebook) {
    return <div className="nbr-Muted">Not registered from a notebook.</div>;
  }
  return (
    <div className="nbr-NotebookCells">
      <h4>
        Notebook cells{notebook.path ? <span className="nbr-Muted"> — {notebook.path}</span> : null}
      </h4>
      {(notebook.warnings ?? []).map((warning, index) => (
        <div key={index} className="nbr-Warning" role="note">
          ⚠ {warning}
        </div>
      ))}
      {(notebook.cells ?? []).map((cell, index) => (
        <div key={index} className="nbr-Cell">
          <div className="nbr-Cell-prompt jp-InputPrompt">[{cell.execution_count ?? ' '}]:</div>
          <div className="nbr-Cell-source">
            <Markdown source={'```python\n' + cell.source.replace(/```/g, '`\u200b``') + '\n```'} />
          </div>
        </div>
      ))}
    </div>
  );
}

export function SignatureView(props: { signature: ModelVersion['signature'] }) {
  const signature = props.signature;
  if (!signature) {
    return <div className="nbr-Muted">No signature recorded.</div>;
  }
  if (signature.type === 'tensor') {
    return (
      <div className="nbr-Mono">
        tensor {signature.dtype} [{signature.shape.map(d => (d < 0 ? 'n' : d)).join(', ')}]
      </div>
    );
  }
  return (
    <table className="nbr-Table">
      <thead>
        <tr>
          <th>column</th>
          <th>dtype</th>
        </tr>
      </thead>
      <tbody>
        {signature.columns.map(column => (
          <tr key={column.name}>
            <td>{column.name}</td>
            <td className="nbr-Mono">{column.dtype}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
