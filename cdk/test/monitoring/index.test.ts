// Alarms to the failure topic, and the dashboard's widgets and EMF metric names.
import { EMF } from '../../lib/monitoring';
import { idOf, synth } from '../helpers';

const { stack, template } = synth();
const topic = { Ref: idOf(stack.parts.alerts.topic) };
const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
const byName = Object.fromEntries(alarms.map((a) => [a.AlarmName, a]));

test('every alarm notifies the failure topic', () => {
  expect(alarms.length).toBeGreaterThan(0);
  for (const a of alarms) expect(a.AlarmActions).toEqual([topic]);
});

test('alarms cover executions, task errors and throttles, Firehose delivery, lag and the schedule', () => {
  const names = Object.keys(byName).sort();
  const expected = [
    'test-pushfeed-executions-failed',
    'test-pushfeed-executions-timed-out',
    'test-pushfeed-executions-not-started',
    'test-pushfeed-schedule-dead-letters',
    'test-pushfeed-stream-lag',
    'test-pushfeed-vendor-throttled',
    // The gaps audit's (lib/audit, test/audit).
    'test-pushfeed-windows-missing',
    'test-pushfeed-windows-failed',
    'test-pushfeed-gap-last-chance',
    'test-pushfeed-freshness',
    ...['read-window', 'deliver', 'await-objects', 'load'].flatMap((t) => [`test-pushfeed-${t}-errors`, `test-pushfeed-${t}-throttles`]),
    ...stack.parts.delivery.streams.map((s) => `test-pushfeed-${s.route.delivery_stream.replace(/^pushfeed-/, '')}-s3-delivery`),
  ].sort();
  expect(names).toEqual(expected);
  expect(byName['test-pushfeed-executions-failed']).toMatchObject({ MetricName: 'ExecutionsFailed', Namespace: 'AWS/States' });
  expect(byName['test-pushfeed-executions-timed-out']).toMatchObject({ MetricName: 'ExecutionsTimedOut' });
  expect(byName['test-pushfeed-stream-lag']).toMatchObject({
    Namespace: 'pushfeed',
    MetricName: 'StreamLagMs',
    Threshold: 600000,
    ComparisonOperator: 'GreaterThanThreshold',
  });
  expect(byName['test-pushfeed-push-sends-s3-delivery']).toMatchObject({
    Namespace: 'AWS/Firehose',
    MetricName: 'DeliveryToS3.Success',
    Dimensions: [{ Name: 'DeliveryStreamName', Value: 'test-pushfeed-push-sends' }],
    ComparisonOperator: 'LessThanThreshold',
  });
});

test('the dashboard shows executions, the EMF metrics per type, lag, durations, Firehose and alarms', () => {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  expect(dashboards[0].Properties.DashboardName).toBe('test-pushfeed-ingest');
  const body = JSON.stringify(dashboards[0].Properties.DashboardBody);
  for (const m of ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed', 'DeliveryToS3.Records', 'Alarms', 'MonitoringExecutionsFailed']) {
    expect(body).toContain(m);
  }
  for (const m of [...EMF.window, ...EMF.perType, EMF.lag, EMF.duration]) expect(body).toContain(m);
  expect(EMF.namespace).toBe('pushfeed');
  for (const r of stack.parts.delivery.streams) {
    expect(body).toContain(`\\"RowsLoaded\\",\\"EventType\\",\\"${r.route.event_type}\\"`);
  }
});
