// One Kinesis Data Firehose stream per route of config/routes.json, writing to events/<TYPE>/window=<W>/.
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { Route, physicalName } from '../config';
import { CONTRACT, firehoseErrorPrefix, firehosePrefix } from '../contract';
import { PREFIXES } from '../storage';

export interface DeliveryProps {
  readonly stage: string;
  readonly routes: Route[];
  readonly bucket: s3.IBucket;
  readonly bufferSeconds: number;
  readonly logRetentionDays: number;
  readonly destroyOnDelete: boolean;
}

export interface DeliveryStream {
  readonly route: Route;
  /** The real name: the stage prefix plus the route's delivery_stream. */
  readonly name: string;
  readonly arn: string;
  readonly resource: firehose.CfnDeliveryStream;
}

/** The S3 prefix Firehose writes one type's records to, partitioned by the record's `window` key. */
export function eventsPrefix(eventType: string): string {
  return firehosePrefix(eventType);
}

const output = CONTRACT.s3.firehose;

export class Delivery extends Construct {
  /** What the Deliver task prepends to a route's delivery_stream (PUSHFEED_DELIVERY_STREAM_PREFIX). */
  readonly streamPrefix: string;
  readonly streams: DeliveryStream[];
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: DeliveryProps) {
    super(scope, id);
    const { stage, bucket } = props;
    const account = Stack.of(this).account;
    this.streamPrefix = `${stage}-`;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/kinesisfirehose/${physicalName(stage, 'delivery')}`,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.destroyOnDelete ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });

    // One role for all the streams: write events/ and firehose-errors/, and log delivery errors.
    // Firehose developer guide, "Grant Firehose access to an Amazon S3 destination", gives the
    // role this trust policy: Principal {"Service": "firehose.amazonaws.com"}, Action
    // "sts:AssumeRole", Condition {"StringEquals": {"sts:ExternalId": "account-id"}}: Firehose
    // assumes the role with the stream's account id as external id, so only streams of this
    // account can use it.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.PrincipalWithConditions(new iam.ServicePrincipal('firehose.amazonaws.com'), {
        StringEquals: { 'sts:ExternalId': account },
      }),
      description: `pushfeed ${stage}: Firehose writes events/ and firehose-errors/`,
    });
    const s3Write = new iam.PolicyStatement({
      actions: [
        's3:AbortMultipartUpload',
        's3:GetBucketLocation',
        's3:GetObject',
        's3:ListBucket',
        's3:ListBucketMultipartUploads',
        's3:PutObject',
      ],
      resources: [
        bucket.bucketArn,
        bucket.arnForObjects(`${PREFIXES.events}*`),
        bucket.arnForObjects(`${PREFIXES.firehoseErrors}*`),
      ],
    });
    const logWrite = new iam.PolicyStatement({
      actions: ['logs:PutLogEvents'],
      resources: [this.logGroup.logGroupArn],
    });
    const policy = new iam.Policy(this, 'RolePolicy', { statements: [s3Write, logWrite] });
    policy.attachToRole(this.role);
    NagSuppressions.addResourceSuppressions(policy, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Firehose writes objects whose names it chooses under events/ and firehose-errors/ only (prefix wildcards), ' +
          'and log streams of its own log group (the log group ARN ends in :*).',
        appliesTo: [
          { regex: '/^Resource::<.*Bucket[0-9A-F]+\\.Arn>\\/(events|firehose-errors)\\/\\*$/' },
          { regex: '/^Resource::<.*Logs[0-9A-F]+\\.Arn>$/' },
        ],
      },
    ]);

    this.streams = props.routes.map((route) => {
      const name = `${this.streamPrefix}${route.delivery_stream}`;
      const logStream = new logs.LogStream(this, `LogStream${route.event_type}`, {
        logGroup: this.logGroup,
        logStreamName: name,
        removalPolicy: props.destroyOnDelete ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      });
      const resource = new firehose.CfnDeliveryStream(this, `Stream${route.event_type}`, {
        deliveryStreamName: name,
        deliveryStreamType: 'DirectPut',
        deliveryStreamEncryptionConfigurationInput: { keyType: 'AWS_OWNED_CMK' },
        extendedS3DestinationConfiguration: {
          bucketArn: bucket.bucketArn,
          roleArn: this.role.roleArn,
          prefix: eventsPrefix(route.event_type),
          errorOutputPrefix: firehoseErrorPrefix(name),
          // Dynamic partitioning needs at least 64 MiB; a minute's records of one type are far
          // less, so the interval decides: one object per window and type, about a minute late.
          bufferingHints: { intervalInSeconds: props.bufferSeconds, sizeInMBs: 64 },
          compressionFormat: output.compression,
          // Set, not left to Firehose's default, so the objects' names say what they hold (the
          // contract's extension; readers still tell gzip by its magic bytes).
          fileExtension: output.file_extension,
          dynamicPartitioningConfiguration: { enabled: true, retryOptions: { durationInSeconds: 300 } },
          // Records already end in a newline (one JSON row each), so no AppendDelimiterToRecord.
          processingConfiguration: {
            enabled: true,
            processors: [
              {
                type: 'MetadataExtraction',
                parameters: [
                  {
                    parameterName: 'MetadataExtractionQuery',
                    parameterValue: `{${output.partition_key}: .${output.partition_key}}`,
                  },
                  { parameterName: 'JsonParsingEngine', parameterValue: 'JQ-1.6' },
                ],
              },
            ],
          },
          cloudWatchLoggingOptions: {
            enabled: true,
            logGroupName: this.logGroup.logGroupName,
            logStreamName: logStream.logStreamName,
          },
        },
      });
      // The role's policy must exist before Firehose checks it can write.
      resource.node.addDependency(policy);
      return { route, name, arn: resource.attrArn, resource };
    });
  }
}
