/**
 * The model card of a model (bare name) or of a version (`churn:3`): markdown rendered sanitized,
 * with an Edit button (allowed by /whoami `can.edit`) that opens a textarea — save, cancel, or start
 * from a draft the server writes from the recorded facts (`GET /cards/{ref}?draft=1`).
 */
import * as React from 'react';

import { refPath, requestAPI, sendJSON, withQuery } from './api';
import { useRegistry } from './context';
import { Markdown } from './markdown';
import { ErrorBox, Loading, Section, Time, useAction, useFetch } from './ui';
import { ActionButton } from './whoami';

export interface ICard {
  ref: string;
  body: string;
  author: string | null;
  written_at: string | null;
  draft: boolean;
}

export function CardSection(props: { target: string; model: string }) {
  const { refreshKey, refresh } = useRegistry();
  const path = `cards/${refPath(props.target)}`;
  const card = useFetch<ICard>(path, refreshKey);
  const [editing, setEditing] = React.useState<string | null>(null);
  const { busy, error, setError, run } = useAction();
  const body = card.data?.body ?? '';

  const save = () =>
    run(async () => {
      await sendJSON('PUT', path, { body: editing ?? '' });
      setEditing(null);
      card.reload();
      refresh();
    });
  const startFromDraft = () =>
    run(async () => setEditing((await requestAPI<ICard>(withQuery(path, { draft: 1 }))).body));

  const edit = editing === null && (
    <ActionButton action="edit-card" permission="edit" model={props.model} className="nbr-EditCard" onClick={() => setEditing(body)}>
      {body ? 'Edit' : 'Write a card'}
    </ActionButton>
  );
  return (
    <Section title="Model card" actions={edit}>
      <div className="nbr-Card" data-card={props.target}>
        {editing !== null ? (
          <div className="nbr-CardEditor">
            <textarea
              className="jp-mod-styled nbr-CardInput"
              rows={14}
              aria-label={`model card of ${props.target} (markdown)`}
              placeholder="Markdown: intended use, data, metrics, limits…"
              value={editing}
              onChange={event => setEditing(event.target.value)}
            />
            <div className="nbr-FormRow">
              <button type="button" className="jp-Button jp-mod-styled jp-mod-accept nbr-SaveCard" disabled={busy} onClick={() => void save()}>
                {busy && <span className="nbr-Spinner" aria-hidden="true" />}
                Save
              </button>
              <button type="button" className="jp-Button jp-mod-styled jp-mod-reject nbr-CancelCard" disabled={busy} onClick={() => setEditing(null)}>
                Cancel
              </button>
              <button
                type="button"
                className="jp-Button jp-mod-styled nbr-DraftCard"
                disabled={busy}
                title="Replace the text with a draft written from what the registry recorded (metrics and their data, lineage, reviews)"
                onClick={() => void startFromDraft()}
              >
                Start from a draft
              </button>
            </div>
          </div>
        ) : card.error && !card.data ? null : !card.data ? (
          <Loading what="the card" />
        ) : body ? (
          <>
            <Markdown source={body} />
            <div className="nbr-Muted nbr-CardByline">
              {card.data.author ? `by ${card.data.author} · ` : ''}
              <Time iso={card.data.written_at} />
            </div>
          </>
        ) : (
          <div className="nbr-Muted nbr-NoCard">No card yet.</div>
        )}
        <ErrorBox message={error ?? card.error} onDismiss={error ? () => setError(null) : undefined} />
      </div>
    </Section>
  );
}
