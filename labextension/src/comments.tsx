/** Comment threads and reviews on a version: read, post, reply, edit your own, approve. */
import * as React from 'react';

import { errorMessage, sendJSON, withQuery } from './api';
import { useRegistry } from './context';
import { Markdown } from './markdown';
import { Comment, Verdict } from './types';
import { Chip, ErrorBox, formatTime, useFetch } from './ui';

export function CommentThreads(props: { versionRef: string }) {
  const { refreshKey } = useRegistry();
  const { data, error, reload } = useFetch<{ comments: Comment[] }>(
    withQuery('comments', { ref: props.versionRef }),
    refreshKey
  );
  const comments = data?.comments ?? [];
  const roots = comments.filter(c => c.reply_to === null || !comments.some(p => p.id === c.reply_to));
  const replies = (id: number) => comments.filter(c => c.reply_to === id);

  return (
    <div className="nbr-Comments">
      <ErrorBox message={error} />
      {data && !comments.length && <div className="nbr-Muted">No comments yet.</div>}
      {roots.map(comment => (
        <div className="nbr-Thread" key={comment.id}>
          <CommentView comment={comment} versionRef={props.versionRef} onChanged={reload} />
          <div className="nbr-Replies">
            {replies(comment.id).map(reply => (
              <CommentView key={reply.id} comment={reply} versionRef={props.versionRef} onChanged={reload} />
            ))}
          </div>
        </div>
      ))}
      <NewComment versionRef={props.versionRef} onPosted={reload} />
    </div>
  );
}

function CommentView(props: { comment: Comment; versionRef: string; onChanged: () => void }) {
  const { userNames } = useRegistry();
  const { comment } = props;
  const [mode, setMode] = React.useState<'view' | 'reply' | 'edit'>('view');
  const own = userNames.includes(comment.author);

  return (
    <div className={`nbr-Comment${comment.deleted ? ' nbr-mod-deleted' : ''}`} data-comment-id={comment.id}>
      <div className="nbr-Comment-header">
        <strong className="nbr-Comment-author">{comment.author}</strong>
        <span className="nbr-Muted">
          {formatTime(comment.created_at)}
          {comment.edited_at ? ' (edited)' : ''}
        </span>
        {comment.verdict && (
          <Chip kind={comment.verdict} label={comment.verdict === 'approve' ? 'approved' : 'changes requested'} />
        )}
        {comment.anchor && <Chip kind="tag" label={comment.anchor} title="anchored to this field" />}
      </div>
      {comment.deleted ? (
        <div className="nbr-Muted">(deleted)</div>
      ) : mode === 'edit' ? (
        <CommentEditor
          initial={comment.body}
          submitLabel="Save"
          onCancel={() => setMode('view')}
          onSubmit={async body => {
            await sendJSON('PATCH', `comments/${comment.id}`, { body });
            setMode('view');
            props.onChanged();
          }}
        />
      ) : (
        <div className="nbr-Comment-body">
          <Markdown source={comment.body} />
        </div>
      )}
      {!comment.deleted && mode === 'view' && (
        <div className="nbr-Comment-actions">
          <button className="jp-Button jp-mod-minimal nbr-ReplyButton" onClick={() => setMode('reply')}>
            Reply
          </button>
          {own && (
            <button className="jp-Button jp-mod-minimal nbr-EditButton" onClick={() => setMode('edit')}>
              Edit
            </button>
          )}
        </div>
      )}
      {mode === 'reply' && (
        <CommentEditor
          submitLabel="Reply"
          onCancel={() => setMode('view')}
          onSubmit={async body => {
            await sendJSON('POST', 'comments', {
              ref: props.versionRef,
              body,
              reply_to: comment.reply_to ?? comment.id
            });
            setMode('view');
            props.onChanged();
          }}
        />
      )}
    </div>
  );
}

function CommentEditor(props: {
  initial?: string;
  submitLabel: string;
  onSubmit: (body: string) => Promise<void>;
  onCancel?: () => void;
}) {
  const [body, setBody] = React.useState(props.initial ?? '');
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const submit = async () => {
    if (!body.trim()) {
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await props.onSubmit(body);
    } catch (reason) {
      setError(errorMessage(reason));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="nbr-CommentEditor">
      <textarea
        className="jp-mod-styled nbr-CommentInput"
        rows={3}
        placeholder="Markdown"
        value={body}
        onChange={event => setBody(event.target.value)}
      />
      <div className="nbr-FormRow">
        <button className="jp-Button jp-mod-styled jp-mod-accept" disabled={busy || !body.trim()} onClick={submit}>
          {props.submitLabel}
        </button>
        {props.onCancel && (
          <button className="jp-Button jp-mod-styled jp-mod-reject" onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </div>
      <ErrorBox message={error} />
    </div>
  );
}

/** The box at the end of the threads: comment, or review with a verdict. */
function NewComment(props: { versionRef: string; onPosted: () => void }) {
  const [body, setBody] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);

  const post = async (verdict: Verdict | null) => {
    if (!verdict && !body.trim()) {
      return;
    }
    setBusy(true);
    setError(null);
    try {
      if (verdict) {
        await sendJSON('POST', 'reviews', { ref: props.versionRef, verdict, body });
      } else {
        await sendJSON('POST', 'comments', { ref: props.versionRef, body });
      }
      setBody('');
      props.onPosted();
    } catch (reason) {
      setError(errorMessage(reason));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="nbr-NewComment">
      <textarea
        className="jp-mod-styled nbr-CommentInput nbr-NewCommentInput"
        rows={3}
        placeholder="Comment (markdown), or a note for your review"
        aria-label="new comment"
        value={body}
        onChange={event => setBody(event.target.value)}
      />
      <div className="nbr-FormRow">
        <button className="jp-Button jp-mod-styled jp-mod-accept nbr-PostComment" disabled={busy || !body.trim()} onClick={() => post(null)}>
          Comment
        </button>
        <span className="nbr-Spacer" />
        <button className="jp-Button jp-mod-styled nbr-Approve" disabled={busy} onClick={() => post('approve')}>
          Approve
        </button>
        <button className="jp-Button jp-mod-styled jp-mod-warn nbr-RequestChanges" disabled={busy} onClick={() => post('request-changes')}>
          Request changes
        </button>
      </div>
      <ErrorBox message={error} onDismiss={() => setError(null)} />
    </div>
  );
}
