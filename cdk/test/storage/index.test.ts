// The bucket: public access blocked, encrypted, TLS only, lifecycle per prefix, access logs.
import { Match } from 'aws-cdk-lib/assertions';
import { idOf, synth } from '../helpers';
import { PREFIXES } from '../../lib/storage';

const { stack, template } = synth();
const bucketId = idOf(stack.parts.storage.bucket);

test('both buckets block public access, are encrypted and are retained', () => {
  template.resourceCountIs('AWS::S3::Bucket', 2);
  template.allResourcesProperties('AWS::S3::Bucket', {
    PublicAccessBlockConfiguration: {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    },
    BucketEncryption: {
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    },
  });
  template.hasResource('AWS::S3::Bucket', { UpdateReplacePolicy: 'Retain', DeletionPolicy: 'Retain' });
});

test('both bucket policies deny requests without TLS', () => {
  template.resourceCountIs('AWS::S3::BucketPolicy', 2);
  template.hasResourceProperties('AWS::S3::BucketPolicy', {
    Bucket: { Ref: bucketId },
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Effect: 'Deny',
          Action: 's3:*',
          Principal: { AWS: '*' },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      ]),
    },
  });
});

test('the data bucket logs access to the log bucket', () => {
  template.hasResourceProperties('AWS::S3::Bucket', {
    LoggingConfiguration: {
      DestinationBucketName: { Ref: idOf(stack.parts.storage.accessLogs) },
      LogFilePrefix: 'data-bucket/',
    },
  });
});

test('lifecycle rules expire each prefix of the layout, raw/ last and through cheaper classes', () => {
  const bucket = template.findResources('AWS::S3::Bucket')[bucketId];
  const rules = bucket.Properties.LifecycleConfiguration.Rules as Array<Record<string, any>>;
  const byPrefix = Object.fromEntries(rules.filter((r) => r.Prefix).map((r) => [r.Prefix, r]));
  expect(Object.keys(byPrefix).sort()).toEqual(
    [
      PREFIXES.raw,
      PREFIXES.checkpoints,
      PREFIXES.staging,
      PREFIXES.rejected,
      PREFIXES.unrouted,
      PREFIXES.events,
      PREFIXES.manifests,
      PREFIXES.firehoseErrors,
    ].sort(),
  );
  expect(byPrefix['raw/']).toMatchObject({
    ExpirationInDays: 400,
    Transitions: [
      { StorageClass: 'STANDARD_IA', TransitionInDays: 30 },
      { StorageClass: 'GLACIER_IR', TransitionInDays: 90 },
    ],
  });
  expect(byPrefix['checkpoints/'].ExpirationInDays).toBe(400);
  expect(byPrefix['staging/'].ExpirationInDays).toBe(7);
  expect(byPrefix['events/'].ExpirationInDays).toBe(30);
  expect(byPrefix['jsonpaths/']).toBeUndefined();
  expect(rules).toContainEqual(
    expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 }, Status: 'Enabled' }),
  );
});
