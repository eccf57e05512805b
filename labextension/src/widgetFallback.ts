/**
 * Saved widget outputs show their static HTML when the widget's model is gone.
 *
 * nbregistry's widgets put `text/html` (their state as static HTML) in their MIME bundle beside
 * `application/vnd.jupyter.widget-view+json`. JupyterLab prefers the widget view, so a notebook
 * reopened with no kernel (or a new one) showed "Loading widget..." or "Error displaying widget:
 * model not found" instead of the data. Here the widget-view renderer of every rendermime registry
 * (the global one and each notebook's own, where the widget manager installs its renderer once the
 * kernel is ready) is wrapped: the output shows its `text/html` until the widget renderer has
 * actually drawn a widget, and keeps showing it when that never happens. Outputs without
 * `text/html` (other libraries' widgets) get the widget renderer unchanged.
 */
import { MimeModel } from '@jupyterlab/rendermime';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel, Widget } from '@lumino/widgets';

export const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';
const HTML_MIME = 'text/html';
const WRAPPED = Symbol('nbregistry.widgetFallback');

/** A widget output: the live widget renderer plus the static HTML, one of them shown. */
class WidgetWithFallback extends Panel implements IRenderMime.IRenderer {
  constructor(
    private readonly live: IRenderMime.IRenderer,
    private readonly registry: IRenderMimeRegistry
  ) {
    super();
    this.addClass('nbr-WidgetOutput');
    live.addClass('nbr-WidgetOutput-live');
    this.addWidget(live);
    // The live renderer draws into its own node; a widget view is an element child of it (until
    // then it only holds text: "Loading widget...", "Error displaying widget: ...").
    this._observer = new MutationObserver(() => this.showWhichever());
    this._observer.observe(live.node, { childList: true });
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const html = model.data[HTML_MIME];
    if (html !== undefined && !this._static) {
      const renderer = this.registry.createRenderer(HTML_MIME);
      renderer.addClass('nbr-WidgetOutput-static');
      this._static = renderer;
      this.addWidget(renderer);
      await renderer.renderModel(
        new MimeModel({ data: { [HTML_MIME]: html }, trusted: model.trusted, metadata: model.metadata })
      );
    }
    this.showWhichever();
    // Not awaited: the live renderer may wait for a kernel that never comes.
    void this.live.renderModel(model).then(() => this.showWhichever());
  }

  dispose(): void {
    this._observer.disconnect();
    super.dispose();
  }

  private showWhichever(): void {
    const drawn = this.live.node.childElementCount > 0;
    this.toggleClass('nbr-mod-live', drawn || !this._static);
  }

  private _observer: MutationObserver;
  private _static: Widget | null = null;
}

function wrap(factory: IRenderMime.IRendererFactory, registry: IRenderMimeRegistry): IRenderMime.IRendererFactory {
  if ((factory as any)[WRAPPED]) {
    return factory;
  }
  const wrapped: IRenderMime.IRendererFactory = {
    safe: factory.safe,
    mimeTypes: factory.mimeTypes,
    defaultRank: factory.defaultRank,
    createRenderer: options => {
      const live = factory.createRenderer(options);
      return options.mimeType === WIDGET_VIEW_MIME ? new WidgetWithFallback(live, registry) : live;
    }
  };
  (wrapped as any)[WRAPPED] = true;
  return wrapped;
}

/**
 * Wrap `registry`'s widget-view renderer now and whenever one is added later (the widget manager
 * replaces it with `removeMimeType` + `addFactory` once a notebook's kernel is ready). Cloned
 * registries copy the wrapped factory but not this hook: call this on each one that matters.
 */
export function keepWidgetFallback(registry: IRenderMimeRegistry): void {
  if ((registry as any)[WRAPPED]) {
    return;
  }
  (registry as any)[WRAPPED] = true;
  const addFactory = registry.addFactory.bind(registry);
  registry.addFactory = (factory: IRenderMime.IRendererFactory, rank?: number) =>
    addFactory(factory.mimeTypes.includes(WIDGET_VIEW_MIME) ? wrap(factory, registry) : factory, rank);
  const current = registry.getFactory(WIDGET_VIEW_MIME);
  if (current && !(current as any)[WRAPPED]) {
    registry.addFactory(current, registry.getRank(WIDGET_VIEW_MIME));
  }
}
