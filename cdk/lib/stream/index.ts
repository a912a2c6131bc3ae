// The Kinesis stream the vendor writes into, and the vendor's put-only IAM user with its access key in Secrets Manager.
import { CfnOutput, Duration, RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { StreamConfig, physicalName } from '../config';

export interface FeedbackStreamProps {
  readonly stage: string;
  readonly config: StreamConfig;
  readonly destroyOnDelete: boolean;
}

export class FeedbackStream extends Construct {
  readonly stream: kinesis.IStream;
  readonly streamName: string;
  /** The IAM user whose access key the vendor puts records with. */
  readonly vendorUser: iam.User;
  /** The vendor's access key id and secret access key, as JSON. */
  readonly vendorSecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: FeedbackStreamProps) {
    super(scope, id);
    const { stage, config } = props;

    if (config.existingName) {
      this.streamName = config.existingName;
      this.stream = kinesis.Stream.fromStreamArn(
        this,
        'Stream',
        Stack.of(this).formatArn({ service: 'kinesis', resource: 'stream', resourceName: config.existingName }),
      );
    } else {
      this.streamName = physicalName(stage, 'feedback');
      const stream = new kinesis.Stream(this, 'Stream', {
        streamName: this.streamName,
        streamMode: config.mode === 'on-demand' ? kinesis.StreamMode.ON_DEMAND : kinesis.StreamMode.PROVISIONED,
        shardCount: config.mode === 'provisioned' ? config.shardCount : undefined,
        retentionPeriod: Duration.hours(config.retentionHours),
        // The AWS managed key (aws/kinesis): producers and consumers need no KMS grants.
        encryption: kinesis.StreamEncryption.MANAGED,
        removalPolicy: props.destroyOnDelete ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      });
      this.stream = stream;
    }

    this.vendorUser = new iam.User(this, 'VendorUser', { userName: physicalName(stage, 'vendor') });
    // Only what a producer needs, on this one stream.
    const putOnly = new iam.Policy(this, 'VendorPutOnly', {
      policyName: 'put-records-only',
      statements: [
        new iam.PolicyStatement({
          actions: ['kinesis:PutRecord', 'kinesis:PutRecords', 'kinesis:DescribeStreamSummary', 'kinesis:ListShards'],
          resources: [this.stream.streamArn],
        }),
      ],
    });
    this.vendorUser.attachInlinePolicy(putOnly);

    const key = new iam.AccessKey(this, 'VendorAccessKey', { user: this.vendorUser });
    this.vendorSecret = new secretsmanager.Secret(this, 'VendorSecret', {
      secretName: `pushfeed/${stage}/vendor-access-key`,
      description: `pushfeed ${stage}: the access key the vendor writes into Kinesis stream ${this.streamName} with`,
      secretObjectValue: {
        aws_access_key_id: SecretValue.unsafePlainText(key.accessKeyId),
        aws_secret_access_key: key.secretAccessKey,
        stream_name: SecretValue.unsafePlainText(this.streamName),
        region: SecretValue.unsafePlainText(Stack.of(this).region),
      },
    });
    NagSuppressions.addResourceSuppressions(this.vendorSecret, [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'The secret is an IAM access key handed to an external vendor; rotating it needs the vendor to switch keys, ' +
          'so it is rotated by hand (cdk/README.md, "Rotating the vendor key"), not by a rotation Lambda.',
      },
    ]);

    new CfnOutput(this, 'StreamName', { value: this.streamName, description: 'Give the vendor: the Kinesis stream name' });
    new CfnOutput(this, 'StreamArn', { value: this.stream.streamArn, description: 'The Kinesis stream ARN' });
    new CfnOutput(this, 'StreamRegion', { value: Stack.of(this).region, description: 'Give the vendor: the region' });
    new CfnOutput(this, 'VendorSecretArn', {
      value: this.vendorSecret.secretArn,
      description: 'Give the vendor the access key in this secret (aws secretsmanager get-secret-value --secret-id <arn>)',
    });
  }
}
