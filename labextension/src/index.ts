/**
 * nbregistry's JupyterLab plugin: the Model Registry app in the main area (command
 * `nbregistry:open`, in the launcher, the command palette and the sidebar's header), a compact
 * navigator in the left sidebar, live refresh from the event feed, and its settings.
 */
import { ILayoutRestorer, IRouter, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { RegistryApp } from './app';
import { argsFromRoute, IOpenArgs, loadCode, Route, routeFromArgs } from './context';
import { checkBackendVersion } from './handshake';
import { registryIcon } from './icon';
import { RegistryNavigator } from './navigator';
import { AppServices } from './services';
import { appSettings, applySettings } from './settings';
import { forgetWhoAmI } from './whoami';
import { keepWidgetFallback } from './widgetFallback';

const PLUGIN_ID = 'nbregistry:panel';
const CATEGORY = 'Model Registry';

export const CommandIDs = {
  open: 'nbregistry:open',
  openNavigator: 'nbregistry:show-navigator',
  refresh: 'nbregistry:refresh'
};

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'The Model Registry app: browse, compare, discuss and promote registered models.',
  autoStart: true,
  optional: [IRenderMimeRegistry, INotebookTracker, ILayoutRestorer, ICommandPalette, ILauncher, ISettingRegistry, IRouter],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry | null,
    notebooks: INotebookTracker | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    settingRegistry: ISettingRegistry | null,
    router: IRouter | null
  ) => {
    // Saved widget outputs show their static HTML when the widget's model is gone (widgetFallback.ts).
    if (rendermime) {
      keepWidgetFallback(rendermime);
    }
    notebooks?.forEach(panel => keepWidgetFallback(panel.content.rendermime));
    notebooks?.widgetAdded.connect((_, panel) => keepWidgetFallback(panel.content.rendermime));

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

    // Comment authorship ("edit own comment"): the name the server records for us, plus the Jupyter identity's.
    let serverAuthor: string | null = null;
    const userNames = (): string[] => {
      const identity = app.serviceManager.user.identity;
      const names = identity ? [identity.username, identity.name, identity.display_name] : [];
      return [serverAuthor, ...names].filter((name): name is string => !!name);
    };

    const tracker = new WidgetTracker<MainAreaWidget<RegistryApp>>({ namespace: 'nbregistry' });
    const openTab = (route: Route, activate = true): MainAreaWidget<RegistryApp> => {
      const key = JSON.stringify(route);
      const existing = tracker.find(widget => JSON.stringify(widget.content.route) === key);
      if (existing) {
        if (activate) {
          app.shell.activateById(existing.id);
        }
        return existing;
      }
      const content = new RegistryApp(services, route);
      const widget = new MainAreaWidget({ content });
      widget.addClass('nbr-AppTab');
      widget.id = content.id;
      widget.title.icon = registryIcon;
      const syncTitle = () => {
        widget.title.label = content.title.label;
        widget.title.caption = content.title.caption;
      };
      syncTitle();
      content.routeChanged.connect(() => {
        syncTitle();
        void tracker.save(widget);
      });
      void tracker.add(widget);
      app.shell.add(widget, 'main');
      if (activate) {
        app.shell.activateById(widget.id);
      }
      return widget;
    };
    const services = new AppServices(rendermime, userNames, insertLoadCode, route => openTab(route));

    app.commands.addCommand(CommandIDs.open, {
      label: args => (args.ref ? `Open ${String(args.ref)} in the Model Registry` : args.compare ? 'Compare in the Model Registry' : 'Model Registry'),
      caption: 'Open the Model Registry (a model, a version such as churn:3, or a comparison) in the main area',
      icon: args => (args.isPalette ? undefined : registryIcon),
      execute: args => openTab(routeFromArgs(args as IOpenArgs), args.activate !== false)
    });
    app.commands.addCommand(CommandIDs.openNavigator, {
      label: 'Show the Model Registry navigator',
      execute: () => app.shell.activateById(navigator.id)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh the Model Registry',
      execute: () => services.refreshAll()
    });

    palette?.addItem({ command: CommandIDs.open, category: CATEGORY });
    palette?.addItem({ command: CommandIDs.openNavigator, category: CATEGORY });
    palette?.addItem({ command: CommandIDs.refresh, category: CATEGORY });
    launcher?.add({ command: CommandIDs.open, category: 'Other', rank: 1 });

    const navigator = new RegistryNavigator(services, () => void app.commands.execute(CommandIDs.open, {}));
    app.shell.add(navigator, 'left', { rank: 900 });

    if (restorer) {
      // Remembered in the workspace: the navigator stays open, and every app tab comes back on its view.
      restorer.add(navigator, navigator.id);
      void restorer.restore(tracker, {
        command: CommandIDs.open,
        args: widget => ({ ...argsFromRoute(widget.content.route), activate: false }) as any,
        name: widget => JSON.stringify(widget.content.route)
      });
    }

    // Deep links: <lab URL>?nbregistry=churn:3 (or =churn, or =compare:churn:1,churn:2).
    if (router) {
      const command = 'nbregistry:open-url';
      app.commands.addCommand(command, {
        execute: args => {
          const search = (args as any).search as string;
          const value = new URLSearchParams(search).get('nbregistry');
          if (value) {
            const route = value.startsWith('compare:')
              ? routeFromArgs({ compare: value.slice('compare:'.length) })
              : routeFromArgs({ ref: value });
            void app.restored.then(() => openTab(route));
          }
        }
      });
      router.register({ command, pattern: /[?&]nbregistry=/, rank: 60 });
    }

    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(settings => {
        let registryUrl = appSettings().registryUrl;
        const changed = () => {
          applySettings(settings);
          const other = appSettings().registryUrl !== registryUrl;
          registryUrl = appSettings().registryUrl;
          if (other) {
            forgetWhoAmI();
          }
          services.poller.restart(other);
          if (other) {
            services.refreshAll(); // another registry: everything shown is stale
          } else {
            services.redrawAll();
          }
        };
        settings.changed.connect(changed);
        changed();
      }).catch(reason => console.warn('nbregistry: settings not loaded', reason));
    }

    void app.serviceManager.user.ready.then(() => services.redrawAll());
    void checkBackendVersion().then(({ banner, author }) => {
      serverAuthor = author;
      services.setBanner(banner);
    });
  }
};

export default plugin;
