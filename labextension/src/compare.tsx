/** Compare view: the comparison table plus a chart of one chosen metric. */
import * as React from 'react';

import { withQuery } from './api';
import { MetricChart } from './chart';
import { ComparisonTable } from './compareTable';
import { useRegistry } from './context';
import { Comparison } from './types';
import { ErrorBox, Loading, Section, useFetch } from './ui';

export function CompareView(props: { refs: string[] }) {
  const { refreshKey, navigate } = useRegistry();
  const { data, error } = useFetch<Comparison>(
    withQuery('compare', { refs: props.refs.join(',') }),
    refreshKey
  );
  if (error && !data) {
    return <ErrorBox message={error} />;
  }
  if (!data) {
    return <Loading />;
  }
  return (
    <div className="nbr-CompareView">
      <h2 className="nbr-Title">Compare {props.refs.length} versions</h2>
      <ComparisonTable comparison={data} onOpen={ref => navigate({ kind: 'version', ref })} />
      <ComparisonChart comparison={data} />
    </div>
  );
}

export function ComparisonChart(props: { comparison: Comparison }) {
  const metricNames = Object.keys(props.comparison.metrics ?? {}).sort();
  const [metric, setMetric] = React.useState(metricNames[0] ?? '');
  if (!metricNames.length) {
    return null;
  }
  const chosen = props.comparison.metrics[metric] ?? props.comparison.metrics[metricNames[0]];
  const picker = (
    <select
      className="jp-mod-styled nbr-MetricPicker"
      aria-label="metric to chart"
      value={metric}
      onChange={event => setMetric(event.target.value)}
    >
      {metricNames.map(name => (
        <option key={name} value={name}>
          {name}
        </option>
      ))}
    </select>
  );
  return (
    <Section title="Chart" actions={picker}>
      <MetricChart
        title={metric}
        labels={props.comparison.versions.map(v => v.ref)}
        values={chosen.values}
        best={chosen.best ?? []}
      />
    </Section>
  );
}
