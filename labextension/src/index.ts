/** nbregistry's JupyterLab plugin: the Model Registry side panel. */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { loadCode } from './context';
import { checkBackendVersion } from './handshake';
import { RegistryPanel } from './panel';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nbregistry:panel',
  description: 'A side panel to browse, compare, discuss and promote registered models.',
  autoStart: true,
  optional: [IRenderMimeRegistry, INotebookTracker, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry | null,
    notebooks: INotebookTracker | null,
    restorer: ILayoutRestorer | null
  ) => {
    const insertLoadCode = (ref: string): string | null => {
      const current = notebooks?.currentWidget;
      if (!current) {
        return 'Open a notebook first: the load code goes into the active notebook.';
      }
      const notebook = current.content;
      NotebookActions.insertBelow(notebook);
      if (notebook.activeCell?.model.type !== 'code') {
        NotebookActions.changeCellType(notebook, 'code');
      }
      notebook.activeCell?.model.sharedModel.setSource(loadCode(ref));
      app.shell.activateById(current.id);
      return null;
    };

    // Comment authorship ("edit own comment"): the name the server records for us, when it
    // says so in the handshake, plus the names of the Jupyter identity.
    let serverAuthor: string | null = null;
    const userNames = (): string[] => {
      const identity = app.serviceManager.user.identity;
      const names = identity ? [identity.username, identity.name, identity.display_name] : [];
      return [serverAuthor, ...names].filter((name): name is string => !!name);
    };

    const panel = new RegistryPanel({ rendermime, userNames, insertLoadCode });
    app.shell.add(panel, 'left', { rank: 900 });
    // Remembered in the workspace: the panel stays open across reloads (make demo opens it this way).
    restorer?.add(panel, panel.id);
    void app.serviceManager.user.ready.then(() => panel.update());

    void checkBackendVersion().then(({ banner, author }) => {
      serverAuthor = author;
      panel.banner = banner;
    });
  }
};

export default plugin;
