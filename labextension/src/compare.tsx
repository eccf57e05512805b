/** Compare view: versions side by side ("hide identical" on by default) and a chart per chosen metric. */
import * as React from 'react';

import { withQuery } from './api';
import { MetricChart } from './chart';
import { ComparisonTable, strictlyBest } from './compareTable';
import { useRegistry } from './context';
import { Comparison } from './types';
import { ErrorBox, Loading, Section, useFetch } from './ui';

export function CompareView(props: { refs: string[] }) {
  const { refreshKey, navigate } = useRegistry();
  const { data, error } = useFetch<Comparison>(withQuery('compare', { refs: props.refs.join(',') }), refreshKey);
  if (error && !data) {
    return <ErrorBox message={error} />;
  }
  if (!data) {
    return <Loading what={`${props.refs.length} versions`} />;
  }
  return (
    <div className="nbr-CompareView">
      <h2 className="nbr-Title">Compare {props.refs.length} versions</h2>
      <ComparisonBody comparison={data} onOpen={ref => navigate({ kind: 'version', ref })} />
    </div>
  );
}

/** Table with its "hide identical" switch, then the chart: shared with the MIME renderer. */
export function ComparisonBody(props: { comparison: Comparison; onOpen?: (ref: string) => void }) {
  const [hideIdentical, setHideIdentical] = React.useState(true);
  return (
    <div className="nbr-Comparison">
      <div className="nbr-FormRow">
        <label className="nbr-Toggle nbr-HideIdentical" title="Hide params and tags that are the same in every version">
          <input type="checkbox" checked={hideIdentical} onChange={event => setHideIdentical(event.target.checked)} />
          hide identical
        </label>
      </div>
      <ComparisonTable comparison={props.comparison} onOpen={props.onOpen} hideIdentical={hideIdentical} />
      <ComparisonChart comparison={props.comparison} />
    </div>
  );
}

export function ComparisonChart(props: { comparison: Comparison }) {
  const { settings } = useRegistry();
  const metricNames = Object.keys(props.comparison.metrics ?? {}).sort();
  const initial = metricNames.includes(settings.defaultMetric) ? settings.defaultMetric : metricNames[0] ?? '';
  const [metric, setMetric] = React.useState(initial);
  if (!metricNames.length) {
    return null;
  }
  const name = props.comparison.metrics[metric] ? metric : metricNames[0];
  const chosen = props.comparison.metrics[name];
  const best = strictlyBest(chosen);
  const picker = (
    <select className="jp-mod-styled nbr-MetricPicker" aria-label="metric to chart" value={name} onChange={e => setMetric(e.target.value)}>
      {metricNames.map(n => (
        <option key={n} value={n}>
          {n}
        </option>
      ))}
    </select>
  );
  return (
    <Section title="Chart" actions={picker}>
      <div className="nbr-ChartScroll">
        <MetricChart
          title={name}
          labels={props.comparison.versions.map(v => v.ref)}
          values={chosen.values}
          best={best === null ? [] : [best]}
        />
      </div>
    </Section>
  );
}
