/** The app's settings (schema/panel.json, shown in the Settings Editor), read by every view. */
import { ISettingRegistry } from '@jupyterlab/settingregistry';

export interface IAppSettings {
  /** Seconds between event polls while visible; 0 = no live refresh. */
  refreshInterval: number;
  /** '' = this Jupyter server's nbregistry API; else a same-origin path of another one. */
  registryUrl: string;
  /** Metric shown in the model list and charted on model pages; '' = the first one found. */
  defaultMetric: string;
}

export const DEFAULT_SETTINGS: IAppSettings = { refreshInterval: 3, registryUrl: '', defaultMetric: '' };

let current: IAppSettings = { ...DEFAULT_SETTINGS };
const listeners = new Set<(settings: IAppSettings) => void>();

export function appSettings(): IAppSettings {
  return current;
}

/** Called whenever the settings change (and once the saved ones are loaded). */
export function onSettingsChanged(listener: (settings: IAppSettings) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function applySettings(settings: ISettingRegistry.ISettings): void {
  const composite = settings.composite as Partial<IAppSettings>;
  current = {
    refreshInterval: Number(composite.refreshInterval ?? DEFAULT_SETTINGS.refreshInterval),
    registryUrl: String(composite.registryUrl ?? ''),
    defaultMetric: String(composite.defaultMetric ?? '')
  };
  listeners.forEach(listener => listener(current));
}
