import { LabIcon } from '@jupyterlab/ui-components';

import registrySvg from '../style/icons/registry.svg';

export const registryIcon = new LabIcon({ name: 'nbregistry:registry', svgstr: registrySvg });
