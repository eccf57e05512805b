/**
 * Markdown through JupyterLab's own renderer. The model is untrusted, so the
 * renderer runs the sanitizer: `<script>`, `onerror=` and friends are removed.
 */
import * as React from 'react';
import { MimeModel } from '@jupyterlab/rendermime';

import { useRegistry } from './context';

export function Markdown(props: { source: string }) {
  const { rendermime } = useRegistry();
  const host = React.useRef<HTMLDivElement>(null);

  React.useEffect(() => {
    const node = host.current;
    if (!node) {
      return;
    }
    if (!rendermime) {
      node.textContent = props.source;
      return;
    }
    const renderer = rendermime.createRenderer('text/markdown');
    const model = new MimeModel({ data: { 'text/markdown': props.source }, trusted: false });
    let disposed = false;
    void renderer.renderModel(model).catch(() => {
      if (!disposed) {
        renderer.node.textContent = props.source;
      }
    });
    // Plain DOM insertion, not Widget.attach: React removes the host before effect cleanup runs,
    // and a Lumino detach from a removed host throws. The renderer needs no attach messages.
    node.appendChild(renderer.node);
    return () => {
      disposed = true;
      renderer.node.remove();
      renderer.dispose();
    };
  }, [props.source, rendermime]);

  return <div className="nbr-Markdown" ref={host} />;
}
