// One Firehose stream per route of config/routes.json, dynamically partitioned by window.
import * as path from 'path';
import { Match } from 'aws-cdk-lib/assertions';
import { REPO_DIR, readRoutes } from '../../lib/config';
import { actionsOfRole, idOf, statementsOfRole, synth } from '../helpers';

const routes = readRoutes(path.join(REPO_DIR, 'config', 'routes.json'));
const { stack, template } = synth();
const bucketArn = { 'Fn::GetAtt': [idOf(stack.parts.storage.bucket), 'Arn'] };

test('one delivery stream per route, named with the stage prefix', () => {
  const streams = template.findResources('AWS::KinesisFirehose::DeliveryStream');
  expect(Object.keys(streams)).toHaveLength(routes.length);
  const names = Object.values(streams).map((s) => s.Properties.DeliveryStreamName).sort();
  expect(names).toEqual(routes.map((r) => `test-${r.delivery_stream}`).sort());
  expect(stack.parts.delivery.streamPrefix).toBe('test-');
});

test.each(routes.map((r) => [r.event_type, r] as const))('%s: S3 under events/<TYPE>/window=<W>/, gzip as .ndjson.gz, errors apart', (type, route) => {
  const name = `test-${route.delivery_stream}`;
  template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
    DeliveryStreamName: name,
    DeliveryStreamType: 'DirectPut',
    DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
    ExtendedS3DestinationConfiguration: {
      BucketARN: bucketArn,
      RoleARN: { 'Fn::GetAtt': [idOf(stack.parts.delivery.role), 'Arn'] },
      Prefix: `events/${type}/window=!{partitionKeyFromQuery:window}/`,
      ErrorOutputPrefix: `firehose-errors/${name}/!{firehose:error-output-type}/`,
      CompressionFormat: 'GZIP',
      FileExtension: '.ndjson.gz',
      BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 64 },
      DynamicPartitioningConfiguration: { Enabled: true, RetryOptions: { DurationInSeconds: 300 } },
      ProcessingConfiguration: {
        Enabled: true,
        // Only the JQ extraction: records already end in a newline, so no delimiter processor.
        Processors: [
          {
            Type: 'MetadataExtraction',
            Parameters: Match.arrayWith([
              { ParameterName: 'MetadataExtractionQuery', ParameterValue: '{window: .window}' },
              { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
            ]),
          },
        ],
      },
      CloudWatchLoggingOptions: Match.objectLike({ Enabled: true, LogGroupName: Match.anyValue(), LogStreamName: Match.anyValue() }),
    },
  });
});

test("Firehose's role trusts Firehose with this account's id as external id, as Firehose documents", () => {
  // Firehose developer guide, "Grant Firehose access to an Amazon S3 destination": the trust
  // policy's Condition is {"StringEquals": {"sts:ExternalId": "account-id"}}.
  const role = template.findResources('AWS::IAM::Role')[idOf(stack.parts.delivery.role)];
  expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
    {
      Effect: 'Allow',
      Principal: { Service: 'firehose.amazonaws.com' },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'sts:ExternalId': { Ref: 'AWS::AccountId' } } },
    },
  ]);
});

test('Firehose may write only events/ and firehose-errors/, and its own log group', () => {
  const roleId = idOf(stack.parts.delivery.role);
  const resources = statementsOfRole(template, roleId).flatMap((s) => s.Resource as unknown[]);
  expect(resources).toContainEqual({ 'Fn::Join': ['', [bucketArn, '/events/*']] });
  expect(resources).toContainEqual({ 'Fn::Join': ['', [bucketArn, '/firehose-errors/*']] });
  expect(JSON.stringify(resources)).not.toMatch(/"\/\*"|raw\/|staging\//);
  expect(actionsOfRole(template, roleId)).not.toContain('s3:DeleteObject');
});
