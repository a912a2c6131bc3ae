// The four Lambda task functions (cargo-lambda binaries, provided.al2023, arm64), each with only its own grants and settings.
import * as fs from 'fs';
import * as path from 'path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { TaskName, physicalName } from '../config';
import { CONTRACT, envName, environmentProblems } from '../contract';
import { DeliveryStream } from '../delivery';
import { PREFIXES } from '../storage';

export interface TasksProps {
  readonly stage: string;
  /** cargo-lambda's output directory: <assets>/<task>/bootstrap. */
  readonly lambdaAssets: string;
  readonly bucket: s3.IBucket;
  readonly stream: kinesis.IStream;
  readonly streamName: string;
  readonly deliveryStreams: DeliveryStream[];
  readonly deliveryStreamPrefix: string;
  /** PUSHFEED_REDSHIFT_* and PUSHFEED_COPY_ROLE_ARN, checked against the contract's load task. */
  readonly warehouseEnvironment: Record<string, string>;
  readonly warehouseStatements: iam.PolicyStatement[];
  readonly lagMinutes: number;
  readonly settleSeconds: number;
  readonly awaitAttempts: number;
  readonly logRetentionDays: number;
  readonly destroyOnDelete: boolean;
}

/**
 * Memory and timeout per task. The timeouts are the contract's (config/contract.json): each is
 * under its Task state's TimeoutSeconds, and over the step's own deadline where it has one.
 */
export const SIZING: Record<TaskName, { memoryMb: number; timeoutSeconds: number }> = {
  // Reads every shard for a minute and writes the raw archive: the most data and CPU.
  'read-window': { memoryMb: 1024, timeoutSeconds: CONTRACT.tasks['read-window'].lambda_timeout_seconds },
  // Streams one staging object into Firehose, 500 records per call, with backoff on partial failures.
  deliver: { memoryMb: 512, timeoutSeconds: CONTRACT.tasks.deliver.lambda_timeout_seconds },
  // Lists and counts one type's Firehose output for one window.
  'await-objects': { memoryMb: 256, timeoutSeconds: CONTRACT.tasks['await-objects'].lambda_timeout_seconds },
  // Writes a manifest, then polls one Data API transaction until FINISHED (or cancels it at its deadline).
  load: { memoryMb: 256, timeoutSeconds: CONTRACT.tasks.load.lambda_timeout_seconds },
};

export class Tasks extends Construct {
  readonly functions: Record<TaskName, lambda.Function>;

  constructor(scope: Construct, id: string, props: TasksProps) {
    super(scope, id);
    const { bucket } = props;
    const objects = (...prefixes: string[]) => prefixes.map((p) => bucket.arnForObjects(`${p}*`));
    const list = (...prefixes: string[]) =>
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
      });
    const readWrite = (...prefixes: string[]) =>
      new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: objects(...prefixes) });
    const read = (...prefixes: string[]) =>
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: objects(...prefixes) });

    const readWindowPrefixes = [PREFIXES.raw, PREFIXES.staging, PREFIXES.rejected, PREFIXES.unrouted, PREFIXES.checkpoints];

    this.functions = {
      'read-window': this.task('read-window', props, {
        environment: {
          [envName('stream_name')]: props.streamName,
          [envName('bucket')]: bucket.bucketName,
          [envName('lag_minutes')]: String(props.lagMinutes),
          [envName('settle_seconds')]: String(props.settleSeconds),
        },
        statements: [
          new iam.PolicyStatement({
            actions: ['kinesis:ListShards', 'kinesis:GetShardIterator', 'kinesis:GetRecords'],
            resources: [props.stream.streamArn],
          }),
          readWrite(...readWindowPrefixes),
          list(...readWindowPrefixes),
        ],
        wildcardReason: 'ReadWindow writes and re-reads objects per window under raw/, staging/, rejected/, unrouted/ and checkpoints/ only.',
      }),
      deliver: this.task('deliver', props, {
        environment: {
          [envName('bucket')]: bucket.bucketName,
          [envName('delivery_stream_prefix')]: props.deliveryStreamPrefix,
        },
        statements: [
          read(PREFIXES.staging),
          new iam.PolicyStatement({
            actions: ['firehose:PutRecordBatch'],
            resources: props.deliveryStreams.map((s) => s.arn),
          }),
        ],
        wildcardReason: 'Deliver reads the staging objects of each window under staging/ only.',
      }),
      'await-objects': this.task('await-objects', props, {
        environment: {
          [envName('bucket')]: bucket.bucketName,
          [envName('await_attempts')]: String(props.awaitAttempts),
        },
        statements: [read(PREFIXES.events), list(PREFIXES.events)],
        wildcardReason: 'AwaitObjects lists and reads the Firehose output of each window under events/ only.',
      }),
      load: this.task('load', props, {
        environment: {
          [envName('bucket')]: bucket.bucketName,
          ...props.warehouseEnvironment,
        },
        statements: [
          // Load re-lists the batch's delivered objects to name exactly them in the manifest.
          read(PREFIXES.events),
          list(PREFIXES.events),
          readWrite(PREFIXES.manifests, PREFIXES.jsonpaths),
          ...props.warehouseStatements,
        ],
        wildcardReason:
          'Load reads the delivered objects under events/ and writes manifests/ and jsonpaths/ per window; ' +
          'the Data API actions DescribeStatement and CancelStatement take no resource ' +
          '(AWS limits them to statements the caller started).',
      }),
    };
  }

  private task(
    name: TaskName,
    props: TasksProps,
    spec: { environment: Record<string, string>; statements: iam.PolicyStatement[]; wildcardReason: string },
  ): lambda.Function {
    const id = name.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());
    // The task refuses to start without what the contract requires, and ignores what it does not read.
    const problems = environmentProblems(name, spec.environment);
    if (problems.length > 0) {
      throw new Error(`The ${name} task's environment breaks config/contract.json: ${problems.join('; ')}`);
    }
    const functionName = physicalName(props.stage, name);
    const codeDir = path.join(props.lambdaAssets, name);
    if (!fs.existsSync(path.join(codeDir, 'bootstrap'))) {
      throw new Error(
        `Lambda build output ${codeDir}/bootstrap not found: run \`cargo lambda build --release --arm64\` in the ` +
          `repository root first, or point context lambdaAssets at cargo-lambda's target/lambda directory`,
      );
    }
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.destroyOnDelete ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    // An explicit role: no AWSLambdaBasicExecutionRole, only this function's log group and grants.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `pushfeed ${props.stage}: the ${name} task`,
    });
    const policy = new iam.Policy(this, `${id}Policy`, {
      statements: [
        new iam.PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
        ...spec.statements,
      ],
    });
    policy.attachToRole(role);
    const sizing = SIZING[name];
    const fn = new lambda.Function(this, id, {
      functionName,
      description: `pushfeed ${props.stage}: the ${name} task of the ingest-window state machine`,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(codeDir),
      memorySize: sizing.memoryMb,
      timeout: Duration.seconds(sizing.timeoutSeconds),
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      tracing: lambda.Tracing.ACTIVE,
      environment: spec.environment,
    });
    fn.node.addDependency(policy);
    NagSuppressions.addResourceSuppressions(
      [policy, role],
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            `${spec.wildcardReason} The log group ARN ends in :* to cover its log streams. ` +
            'X-Ray PutTraceSegments and PutTelemetryRecords take no resource.',
          appliesTo: [
            { regex: '/^Resource::<.*Bucket[0-9A-F]+\\.Arn>\\/[a-z-]+\\/\\*$/' },
            { regex: '/^Resource::<.*Logs[0-9A-F]+\\.Arn>$/' },
            'Resource::*',
          ],
        },
      ],
      true,
    );
    return fn;
  }
}
