// The one bucket of the S3 layout (docs/design.md), with lifecycle rules per prefix, and its access-log bucket.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { RetentionConfig } from '../config';
import { CONTRACT } from '../contract';

const layout = CONTRACT.s3.prefixes;

/** The prefixes of docs/design.md "S3 layout", as config/contract.json names them for the tasks too. */
export const PREFIXES = {
  raw: layout.raw,
  staging: layout.staging,
  rejected: layout.rejected,
  unrouted: layout.unrouted,
  checkpoints: layout.checkpoints,
  events: layout.events,
  manifests: layout.manifests,
  jsonpaths: layout.jsonpaths,
  firehoseErrors: layout.firehose_errors,
} as const;

export interface StorageProps {
  readonly retention: RetentionConfig;
}

export class Storage extends Construct {
  /** The data bucket: every prefix of the layout. */
  readonly bucket: s3.Bucket;
  /** Server access logs of the data bucket. */
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const r = props.retention;

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(r.rejectedDays) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(this.accessLogs, [
      {
        id: 'AwsSolutions-S1',
        reason: 'This is the server access log bucket of the data bucket; logging it into itself would loop.',
      },
    ]);

    // Retained on stack deletion in every stage: the raw archive is the replay source of last resort.
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'data-bucket/',
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(2) },
        {
          id: 'raw-archive',
          prefix: PREFIXES.raw,
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
            ...(r.rawDays > 90
              ? [{ storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(90) }]
              : []),
          ],
          expiration: Duration.days(r.rawDays),
        },
        { id: 'checkpoints', prefix: PREFIXES.checkpoints, expiration: Duration.days(r.rawDays) },
        { id: 'staging', prefix: PREFIXES.staging, expiration: Duration.days(r.stagingDays) },
        { id: 'rejected', prefix: PREFIXES.rejected, expiration: Duration.days(r.rejectedDays) },
        { id: 'unrouted', prefix: PREFIXES.unrouted, expiration: Duration.days(r.rejectedDays) },
        { id: 'events', prefix: PREFIXES.events, expiration: Duration.days(r.eventsDays) },
        { id: 'manifests', prefix: PREFIXES.manifests, expiration: Duration.days(r.eventsDays) },
        { id: 'firehose-errors', prefix: PREFIXES.firehoseErrors, expiration: Duration.days(r.firehoseErrorsDays) },
        // jsonpaths/ has no rule: the Load task rewrites one small file per table and COPY needs it.
      ],
    });
  }

  /** The ARN of every object under a prefix of the layout, like `arn:...:bucket/raw/*`. */
  objectsUnder(prefix: string): string {
    return this.bucket.arnForObjects(`${prefix}*`);
  }
}
