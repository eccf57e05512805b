/**
 * MIME renderer for `application/vnd.nbregistry.comparison+json`: comparison
 * outputs render in JupyterLab from the saved JSON alone, no kernel needed.
 */
import * as React from 'react';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { ReactWidget } from '@jupyterlab/ui-components';
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { ComparisonBody } from './compare';
import { COMPARISON_MIME, Comparison } from './types';

export class ComparisonRenderer extends ReactWidget implements IRenderMime.IRenderer {
  constructor() {
    super();
    this.addClass('nbr-ComparisonOutput');
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this._comparison = model.data[COMPARISON_MIME] as unknown as Comparison;
    // Render now (not on the next animation frame) so the output is complete when this resolves.
    MessageLoop.sendMessage(this, Widget.Msg.UpdateRequest);
    return this.renderPromise ?? Promise.resolve();
  }

  protected render(): JSX.Element | null {
    const comparison = this._comparison;
    if (!comparison || !Array.isArray(comparison.versions)) {
      return <div className="nbr-Error">Not an nbregistry comparison.</div>;
    }
    return (
      <ComparisonBody comparison={comparison} />
    );
  }

  private _comparison: Comparison | null = null;
}

/**
 * Rank 40: ahead of text/html (50) and Vega-Lite (57), so JupyterLab shows this renderer for a
 * comparison output without user settings; the same output's HTML stays for GitHub and nbviewer.
 */
export const RANK = 40;

export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [COMPARISON_MIME],
  defaultRank: RANK,
  createRenderer: () => new ComparisonRenderer()
};

const extension: IRenderMime.IExtension = {
  id: 'nbregistry:comparison-renderer',
  description: 'Renders nbregistry comparison outputs.',
  rendererFactory,
  rank: RANK,
  dataType: 'json'
};

export default extension;
