// The ingest-window state machine (statemachines/ingest-window.asl.json inlined) and the every-minute schedule that starts it.
import * as fs from 'fs';
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { TaskName, physicalName } from '../config';

export interface WorkflowProps {
  readonly stage: string;
  readonly definitionFile: string;
  readonly functions: Record<TaskName, lambda.IFunction>;
  readonly failureTopic: sns.ITopic;
  readonly awaitWaitSeconds: number;
  readonly scheduleEnabled: boolean;
  readonly logRetentionDays: number;
  readonly destroyOnDelete: boolean;
}

/** The scheduler's input: ReadWindow derives the window from the scheduled time, never from "now". */
export const SCHEDULE_INPUT = '{"scheduled_time": "<aws.scheduler.scheduled-time>"}';

export class Workflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly stateMachineName: string;
  /** Built from the fixed name, so the definition can name its own state machine without a cycle. */
  readonly stateMachineArn: string;
  /** The command a failure email gives to re-run a window (the ASL appends --from/--to). */
  readonly replayCommand: string;
  readonly schedule: scheduler.CfnSchedule;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: WorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const removalPolicy = props.destroyOnDelete ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.stateMachineName = physicalName(props.stage, 'ingest-window');
    this.stateMachineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: this.stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.replayCommand = `pushfeed replay --aws --state-machine ${this.stateMachineArn}`;

    const logGroup = new logs.LogGroup(this, 'Logs', {
      // Step Functions log delivery needs the /aws/vendedlogs/ prefix to keep its resource policy small.
      logGroupName: `/aws/vendedlogs/states/${this.stateMachineName}`,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy,
    });

    const f = props.functions;
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: this.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      // The file as it is, so the template, cfn-lint and the tests see the same flow the local executor runs.
      definitionBody: sfn.DefinitionBody.fromString(fs.readFileSync(props.definitionFile, 'utf8')),
      definitionSubstitutions: {
        ReadWindowFunction: f['read-window'].functionArn,
        DeliverFunction: f.deliver.functionArn,
        AwaitObjectsFunction: f['await-objects'].functionArn,
        LoadFunction: f.load.functionArn,
        FailureTopicArn: props.failureTopic.topicArn,
        AwaitWaitSeconds: String(props.awaitWaitSeconds),
        Region: stack.region,
        ReplayCommand: this.replayCommand,
      },
      // Execution data is logged too: state carries windows, counts and keys, never a secret
      // (docs/design.md), and it is what explains a failed window next to the console's history.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
      removalPolicy,
    });
    // The definition is a string, so CDK cannot see its tasks: grant them here, unqualified ARNs only.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: Object.values(f).map((fn) => fn.functionArn),
      }),
    );
    props.failureTopic.grantPublish(this.stateMachine);
    NagSuppressions.addResourceSuppressions(
      this.stateMachine,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Step Functions log delivery (logs:CreateLogDelivery and the other *LogDelivery actions, ' +
            'DescribeLogGroups, DescribeResourcePolicies, PutResourcePolicy) and X-Ray (PutTraceSegments, ' +
            'PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) take no resource.',
          appliesTo: ['Resource::*'],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Publishing to the KMS-encrypted failure topic needs kms:GenerateDataKey* (GenerateDataKey and its ' +
            'WithoutPlaintext variant, as SNS asks for either) on that one key only.',
          appliesTo: ['Action::kms:GenerateDataKey*'],
        },
      ],
      true,
    );

    this.deadLetterQueue = new sqs.Queue(this, 'ScheduleDeadLetters', {
      queueName: physicalName(props.stage, 'schedule-dead-letters'),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    NagSuppressions.addResourceSuppressions(this.deadLetterQueue, [
      {
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is itself the dead-letter queue of the schedule; an alarm watches it.',
      },
    ]);

    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.PrincipalWithConditions(new iam.ServicePrincipal('scheduler.amazonaws.com'), {
        StringEquals: { 'aws:SourceAccount': stack.account },
      }),
      description: `pushfeed ${props.stage}: EventBridge Scheduler starts ${this.stateMachineName}`,
    });
    this.stateMachine.grantStartExecution(scheduleRole);
    this.deadLetterQueue.grantSendMessages(scheduleRole);

    this.schedule = new scheduler.CfnSchedule(this, 'EveryMinute', {
      name: physicalName(props.stage, 'every-minute'),
      description: `pushfeed ${props.stage}: ingest the window one lag behind each scheduled minute`,
      scheduleExpression: 'rate(1 minute)',
      flexibleTimeWindow: { mode: 'OFF' },
      state: props.scheduleEnabled ? 'ENABLED' : 'DISABLED',
      target: {
        arn: this.stateMachine.stateMachineArn,
        roleArn: scheduleRole.roleArn,
        input: SCHEDULE_INPUT,
        // A start that fails is retried for up to an hour; the scheduled time stays the same, so
        // a late start still reads the right window. What still fails lands in the queue.
        retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 20 },
        deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
      },
    });

    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn, description: 'The ingest-window state machine' });
    new CfnOutput(this, 'ReplayCommand', {
      value: `${this.replayCommand} --from <window> --to <window>`,
      description: 'Re-runs windows, like 2026-11-26T10:01Z',
    });
    new CfnOutput(this, 'ExecutionsConsole', {
      value: `https://${stack.region}.console.aws.amazon.com/states/home?region=${stack.region}#/statemachines/view/${this.stateMachineArn}`,
      description: 'The execution history in the Step Functions console',
    });
  }
}
