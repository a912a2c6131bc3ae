// The gaps audit: a small Lambda of the same library, run every 10 minutes by EventBridge Scheduler,
// publishing WindowsMissing/WindowsFailed/WindowsPartial/OldestGapMinutes/FreshnessSeconds, with its
// alarms to the failure topic and a "gaps and freshness" row on the dashboard.
import * as fs from 'fs';
import * as path from 'path';
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { Route, physicalName } from '../config';
import { CONTRACT, envName } from '../contract';
import { PREFIXES } from '../storage';

/** The audit's metrics (src/metrics.rs `audit_names`). */
export const AUDIT_METRICS = {
  missing: 'WindowsMissing',
  failed: 'WindowsFailed',
  partial: 'WindowsPartial',
  oldestGapMinutes: 'OldestGapMinutes',
  freshnessSeconds: 'FreshnessSeconds',
  tableDimension: 'Table',
} as const;

/** How often the audit runs. */
export const AUDIT_EVERY_MINUTES = 10;
/** A gap this close to the stream's retention raises the "last chance" alarm. */
export const LAST_CHANCE_HOURS = 6;
/** A table whose latest loaded arrival is older than this raises the freshness alarm. */
export const FRESHNESS_ALARM_SECONDS = 600;

export interface AuditProps {
  readonly stage: string;
  readonly lambdaAssets: string;
  readonly bucket: s3.IBucket;
  readonly stream: kinesis.IStream;
  readonly streamName: string;
  readonly retentionHours: number;
  readonly stateMachine: sfn.IStateMachine;
  readonly stateMachineName: string;
  /** PUSHFEED_REDSHIFT_* (the Load task's), and the Data API statements to read the ledger with. */
  readonly warehouseEnvironment: Record<string, string>;
  readonly warehouseStatements: iam.PolicyStatement[];
  /** `--workgroup ... --database ... --secret-arn ...`, for the catch-up command in the alarms. */
  readonly warehouseArgs: string;
  readonly routes: Route[];
  readonly lagMinutes: number;
  /** Repair executions one audit may start (0: none, the default). */
  readonly autoRepairMax: number;
  readonly topic: sns.ITopic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly logRetentionDays: number;
  readonly destroyOnDelete: boolean;
}

export class Audit extends Construct {
  readonly function: lambda.Function;
  readonly alarms: cloudwatch.Alarm[] = [];
  /** The exact command that repairs the last 24 hours of gaps. */
  readonly catchUpCommand: string;

  constructor(scope: Construct, id: string, props: AuditProps) {
    super(scope, id);
    const { stage, bucket } = props;
    const functionName = physicalName(stage, 'audit');
    const codeDir = path.join(props.lambdaAssets, 'audit');
    if (!fs.existsSync(path.join(codeDir, 'bootstrap'))) {
      throw new Error(
        `Lambda build output ${codeDir}/bootstrap not found: run \`cargo lambda build --release --arm64\` in the ` +
          `repository root first, or point context lambdaAssets at cargo-lambda's target/lambda directory`,
      );
    }
    this.catchUpCommand =
      `pushfeed catch-up --aws --state-machine ${props.stateMachine.stateMachineArn} --bucket ${bucket.bucketName} ` +
      `--stream ${props.streamName} ${props.warehouseArgs}`;

    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.destroyOnDelete ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `pushfeed ${stage}: the gaps audit`,
    });
    // Its executions: arn:<partition>:states:<region>:<account>:execution:<state machine name>:*.
    const executionsArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${props.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const statements = [
      new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
      // Checkpoints say a window was read and what it routed; old checkpoints fall back to staging/.
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects(`${PREFIXES.checkpoints}*`)] }),
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${PREFIXES.checkpoints}*`, `${PREFIXES.staging}*`] } },
      }),
      new iam.PolicyStatement({ actions: ['states:ListExecutions'], resources: [props.stateMachine.stateMachineArn] }),
      new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executionsArn] }),
      new iam.PolicyStatement({ actions: ['kinesis:DescribeStreamSummary'], resources: [props.stream.streamArn] }),
      ...props.warehouseStatements,
    ];
    if (props.autoRepairMax > 0) {
      statements.push(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [props.stateMachine.stateMachineArn] }));
    }
    const policy = new iam.Policy(this, 'Policy', { statements });
    policy.attachToRole(role);

    const environment: Record<string, string> = {
      [envName('bucket')]: bucket.bucketName,
      [envName('stream_name')]: props.streamName,
      [envName('lag_minutes')]: String(props.lagMinutes),
      PUSHFEED_STATE_MACHINE_ARN: props.stateMachine.stateMachineArn,
      PUSHFEED_AUDIT_REPAIR_MAX: String(props.autoRepairMax),
      ...props.warehouseEnvironment,
    };
    this.function = new lambda.Function(this, 'Function', {
      functionName,
      description: `pushfeed ${stage}: every ${AUDIT_EVERY_MINUTES} minutes, the windows of the last 24 hours that are not complete`,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(codeDir),
      memorySize: 256,
      // Reads a day of checkpoints (16 at a time) and two Data API queries: well under the interval.
      timeout: Duration.minutes(5),
      // One audit at a time: two would start the same repairs.
      reservedConcurrentExecutions: 1,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      tracing: lambda.Tracing.ACTIVE,
      environment,
    });
    this.function.node.addDependency(policy);
    NagSuppressions.addResourceSuppressions(
      [policy, role],
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'The audit reads checkpoints/ objects and lists checkpoints/ and staging/ only; DescribeExecution is on the ' +
            "executions of this one state machine (execution ARNs are only known at run time); the log group ARN ends in :* " +
            'for its streams; the Data API actions DescribeStatement and GetStatementResult take no resource; X-Ray takes none.',
          appliesTo: [
            { regex: '/^Resource::<.*Bucket[0-9A-F]+\\.Arn>\\/[a-z-]+\\/\\*$/' },
            { regex: '/^Resource::<.*Logs[0-9A-F]+\\.Arn>$/' },
            { regex: '/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:.*:\\*$/' },
            'Resource::*',
          ],
        },
      ],
      true,
    );

    // EventBridge Scheduler, like the every-minute schedule: one invocation every 10 minutes.
    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: `pushfeed ${stage}: EventBridge Scheduler invokes the gaps audit`,
    });
    // The function itself only: grantInvoke would add its versions (`:*`) too.
    scheduleRole.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.function.functionArn] }));
    new scheduler.CfnSchedule(this, 'Every10Minutes', {
      name: physicalName(stage, 'audit'),
      description: 'Classifies the last 24 hours of windows and publishes the gaps and freshness metrics',
      scheduleExpression: `rate(${AUDIT_EVERY_MINUTES} minutes)`,
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: this.function.functionArn,
        roleArn: scheduleRole.roleArn,
        retryPolicy: { maximumEventAgeInSeconds: AUDIT_EVERY_MINUTES * 60, maximumRetryAttempts: 2 },
      },
    });

    // Alarms. The audit counts a window only once its run is 15 minutes late, so one datapoint
    // above zero means "missing (or failed) for longer than 15 minutes".
    const period = Duration.minutes(AUDIT_EVERY_MINUTES);
    const metric = (metricName: string, dimensionsMap?: Record<string, string>, label?: string) =>
      new cloudwatch.Metric({ namespace: CONTRACT.metrics.namespace, metricName, dimensionsMap, statistic: 'Maximum', period, label });
    const alarm = (alarmId: string, what: string, m: cloudwatch.IMetric, threshold: number, alarmDescription: string) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        alarmName: physicalName(stage, what),
        metric: m,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription,
      });
      a.addAlarmAction(new actions.SnsAction(props.topic));
      this.alarms.push(a);
      return a;
    };
    alarm('WindowsMissing', 'windows-missing', metric(AUDIT_METRICS.missing), 1,
      `A window has had no execution for over 15 minutes (the schedule skipped it). Repair the last 24 hours: ${this.catchUpCommand}`);
    alarm('WindowsFailed', 'windows-failed', metric(AUDIT_METRICS.failed), 1,
      `A window's last execution failed over 15 minutes ago and nobody re-ran it. Repair the last 24 hours: ${this.catchUpCommand}`);
    const lastChanceMinutes = (props.retentionHours - LAST_CHANCE_HOURS) * 60;
    alarm('LastChance', 'gap-last-chance', metric(AUDIT_METRICS.oldestGapMinutes), lastChanceMinutes,
      `LAST CHANCE BEFORE DATA LOSS: a window not complete is within ${LAST_CHANCE_HOURS} hours of the stream's ` +
        `${props.retentionHours}-hour retention; once it passes, a window that was never read is lost. Run now: ${this.catchUpCommand}`);
    // The freshest table, not each one: a rare event type may rightly go quiet for 10 minutes, the pipeline may not.
    const freshness = props.routes.map((r) =>
      metric(AUDIT_METRICS.freshnessSeconds, { [AUDIT_METRICS.tableDimension]: r.table }, r.table),
    );
    const freshest = new cloudwatch.MathExpression({
      expression: `MIN([${freshness.map((_, i) => `f${i}`).join(', ')}])`,
      usingMetrics: Object.fromEntries(freshness.map((m, i) => [`f${i}`, m])),
      period,
      label: 'freshest table (s)',
    });
    alarm('Freshness', 'freshness', freshest, FRESHNESS_ALARM_SECONDS + 1,
      `No table has loaded an event that arrived in the last ${FRESHNESS_ALARM_SECONDS / 60} minutes: see \`pushfeed status --aws\`.`);

    props.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Gaps: windows not complete (audit)',
        width: 8,
        left: [metric(AUDIT_METRICS.missing, undefined, 'missing'), metric(AUDIT_METRICS.failed, undefined, 'failed'), metric(AUDIT_METRICS.partial, undefined, 'partial')],
      }),
      new cloudwatch.GraphWidget({
        title: 'Oldest gap (minutes)',
        width: 8,
        left: [metric(AUDIT_METRICS.oldestGapMinutes, undefined, 'oldest gap')],
        leftAnnotations: [{ value: lastChanceMinutes, label: 'last chance before retention' }],
      }),
      new cloudwatch.GraphWidget({
        title: 'Freshness per table (s)',
        width: 8,
        left: freshness,
        leftAnnotations: [{ value: FRESHNESS_ALARM_SECONDS, label: 'alarm' }],
      }),
    );
  }
}
