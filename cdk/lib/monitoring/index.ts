// Alarms to the failure topic, and one dashboard: executions, per-type EMF counts, lag and durations, Firehose, Kinesis.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Route, TaskName, physicalName } from '../config';
import { CONTRACT } from '../contract';
import { DeliveryStream } from '../delivery';

/** The Embedded Metric Format metrics the tasks emit (config/contract.json): namespace, names and dimensions. */
export const EMF = {
  namespace: CONTRACT.metrics.namespace,
  /** Per window, no dimension. */
  window: CONTRACT.metrics.window,
  /** Per window and event type, dimension EventType. */
  perType: CONTRACT.metrics.per_event_type,
  /** Milliseconds between a window's end and its read, no dimension. */
  lag: CONTRACT.metrics.lag,
  /** Milliseconds per task invocation, under whatever dimensions the task gives it (a SEARCH). */
  duration: CONTRACT.metrics.duration,
  dimension: CONTRACT.metrics.event_type_dimension,
} as const;

export interface MonitoringProps {
  readonly stage: string;
  readonly topic: sns.ITopic;
  readonly stateMachine: sfn.IStateMachine;
  readonly functions: Record<TaskName, lambda.IFunction>;
  readonly deliveryStreams: DeliveryStream[];
  readonly routes: Route[];
  readonly stream: kinesis.IStream;
  readonly deadLetterQueue: sqs.IQueue;
  readonly scheduleEnabled: boolean;
  readonly lagAlarmMinutes: number;
}

export class Monitoring extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { stage, stateMachine: sm } = props;
    const minute = Duration.minutes(1);
    const fiveMinutes = Duration.minutes(5);
    const alarm = (
      alarmId: string,
      metric: cloudwatch.IMetric,
      spec: Omit<cloudwatch.CreateAlarmOptions, 'alarmName'> & { what: string },
    ) => {
      const { what, ...options } = spec;
      const a = new cloudwatch.Alarm(this, alarmId, { metric, alarmName: physicalName(stage, what), ...options });
      a.addAlarmAction(new actions.SnsAction(props.topic));
      this.alarms.push(a);
      return a;
    };
    const atLeastOnce = {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };

    // Executions: failed ones also send their own email; timed-out ones cannot (no Catch sees them).
    alarm('ExecutionsFailed', sm.metricFailed({ period: fiveMinutes, statistic: 'Sum' }), {
      what: 'executions-failed',
      alarmDescription: 'An ingest-window execution failed; its email names the window and the re-run command.',
      ...atLeastOnce,
    });
    alarm('ExecutionsTimedOut', sm.metricTimedOut({ period: fiveMinutes, statistic: 'Sum' }), {
      what: 'executions-timed-out',
      alarmDescription: 'An ingest-window execution hit its 1 h timeout and sent no email: re-run its window.',
      ...atLeastOnce,
    });
    if (props.scheduleEnabled) {
      alarm('ExecutionsNotStarted', sm.metricStarted({ period: fiveMinutes, statistic: 'Sum' }), {
        what: 'executions-not-started',
        alarmDescription: 'The every-minute schedule started fewer than 3 executions in 5 minutes.',
        threshold: 3,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }
    alarm(
      'ScheduleDeadLetters',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
      {
        what: 'schedule-dead-letters',
        alarmDescription: 'The scheduler gave up starting an execution: its scheduled time is in the dead-letter queue.',
        ...atLeastOnce,
      },
    );

    for (const [name, fn] of Object.entries(props.functions)) {
      const id = name.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());
      alarm(`${id}Errors`, fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }), {
        what: `${name}-errors`,
        alarmDescription: `The ${name} task failed (the state machine retries transient errors).`,
        ...atLeastOnce,
      });
      alarm(`${id}Throttles`, fn.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }), {
        what: `${name}-throttles`,
        alarmDescription: `The ${name} task was throttled.`,
        ...atLeastOnce,
      });
    }

    for (const ds of props.deliveryStreams) {
      const success = firehoseMetric(ds.name, 'DeliveryToS3.Success', 'Minimum', fiveMinutes);
      alarm(`Delivery${ds.route.event_type}ToS3`, success, {
        what: `${ds.route.delivery_stream.replace(/^pushfeed-/, '')}-s3-delivery`,
        alarmDescription: `Firehose ${ds.name} failed to deliver to S3 (see firehose-errors/ and its log stream).`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    const lag = new cloudwatch.Metric({
      namespace: EMF.namespace,
      metricName: EMF.lag,
      statistic: 'Maximum',
      period: minute,
    });
    alarm('StreamLag', lag, {
      what: 'stream-lag',
      alarmDescription: `Windows are read more than ${props.lagAlarmMinutes} minutes after they end.`,
      threshold: props.lagAlarmMinutes * 60_000,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm(
      'VendorThrottled',
      props.stream.metric('WriteProvisionedThroughputExceeded', { period: fiveMinutes, statistic: 'Sum' }),
      {
        what: 'vendor-throttled',
        alarmDescription: 'Kinesis refused some of the vendor\'s writes: raise the shard count (or check on-demand limits).',
        ...atLeastOnce,
      },
    );

    this.dashboard = this.buildDashboard(props, lag);
  }

  private buildDashboard(props: MonitoringProps, lag: cloudwatch.Metric): cloudwatch.Dashboard {
    const { stage, stateMachine: sm } = props;
    const minute = Duration.minutes(1);
    const sum = (metricName: string, dimensionsMap?: Record<string, string>, label?: string) =>
      new cloudwatch.Metric({ namespace: EMF.namespace, metricName, dimensionsMap, statistic: 'Sum', period: minute, label });
    const perType = (metricName: string) =>
      props.routes.map((r) => sum(metricName, { [EMF.dimension]: r.event_type }, r.event_type));
    const width = 8;

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: physicalName(stage, 'ingest'),
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          `# pushfeed ${stage}\nOne execution per minute window. Failure emails go to the failure topic; ` +
          'the execution history is in the Step Functions console.',
        width: 16,
        height: 3,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 8, height: 6 }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Executions',
        width,
        left: [
          sm.metricStarted({ period: minute, statistic: 'Sum', label: 'started' }),
          sm.metricSucceeded({ period: minute, statistic: 'Sum', label: 'succeeded' }),
          sm.metricFailed({ period: minute, statistic: 'Sum', label: 'failed' }),
          sm.metricTimedOut({ period: minute, statistic: 'Sum', label: 'timed out' }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Records read, rejected, unrouted (per minute)',
        width,
        left: EMF.window.map((m) => sum(m)),
      }),
      new cloudwatch.GraphWidget({ title: 'Records delivered per type', width, left: perType('RecordsDelivered') }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Rows loaded per type', width, left: perType('RowsLoaded') }),
      new cloudwatch.GraphWidget({
        title: 'Stream lag and execution time (ms)',
        width,
        left: [lag.with({ label: 'stream lag (max)' })],
        right: [sm.metric('ExecutionTime', { period: minute, statistic: 'p90', label: 'execution time p90' })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Task durations (ms, p90)',
        width,
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${EMF.namespace}} MetricName="${EMF.duration}"', 'p90', 60)`,
            label: '',
            period: minute,
          }),
        ],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Firehose records delivered to S3',
        width,
        left: props.deliveryStreams.map((d) =>
          firehoseMetric(d.name, 'DeliveryToS3.Records', 'Sum', Duration.minutes(5), d.route.event_type),
        ),
      }),
      new cloudwatch.GraphWidget({
        title: 'Firehose data freshness (s, max)',
        width,
        left: props.deliveryStreams.map((d) =>
          firehoseMetric(d.name, 'DeliveryToS3.DataFreshness', 'Maximum', Duration.minutes(5), d.route.event_type),
        ),
      }),
      new cloudwatch.GraphWidget({
        title: 'Kinesis: vendor writes',
        width,
        left: [props.stream.metric('IncomingRecords', { period: minute, statistic: 'Sum', label: 'incoming records' })],
        right: [
          props.stream.metric('WriteProvisionedThroughputExceeded', { period: minute, statistic: 'Sum', label: 'throttled' }),
        ],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Task errors and throttles',
        width: 12,
        left: Object.entries(props.functions).flatMap(([name, fn]) => [
          fn.metricErrors({ period: minute, statistic: 'Sum', label: `${name} errors` }),
          fn.metricThrottles({ period: minute, statistic: 'Sum', label: `${name} throttles` }),
        ]),
      }),
      new cloudwatch.GraphWidget({
        title: 'Task durations (Lambda, ms, max)',
        width: 12,
        left: Object.entries(props.functions).map(([name, fn]) =>
          fn.metricDuration({ period: minute, statistic: 'Maximum', label: name }),
        ),
      }),
    );
    return dashboard;
  }
}

function firehoseMetric(stream: string, metricName: string, statistic: string, period: Duration, label?: string) {
  return new cloudwatch.Metric({
    namespace: 'AWS/Firehose',
    metricName,
    dimensionsMap: { DeliveryStreamName: stream },
    statistic,
    period,
    label,
  });
}
