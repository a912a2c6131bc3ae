// The Kinesis stream (on-demand, provisioned or imported) and the vendor's put-only user and secret.
import { Match } from 'aws-cdk-lib/assertions';
import { actionsOfRole, idOf, statementsOfRole, synth } from '../helpers';

const { stack, template } = synth();
const streamId = idOf(stack.parts.stream.stream);

test('an on-demand stream, encrypted with the AWS managed key, with the configured retention', () => {
  template.hasResourceProperties('AWS::Kinesis::Stream', {
    Name: 'test-pushfeed-feedback',
    StreamModeDetails: { StreamMode: 'ON_DEMAND' },
    RetentionPeriodHours: 24,
    StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
  });
});

test('a provisioned stream takes its shard count and retention from the configuration', () => {
  const { template: t } = synth({ stream: { mode: 'provisioned', shardCount: 3, retentionHours: 72 } });
  t.hasResourceProperties('AWS::Kinesis::Stream', {
    StreamModeDetails: { StreamMode: 'PROVISIONED' },
    ShardCount: 3,
    RetentionPeriodHours: 72,
  });
});

test('an existing stream is imported by name, not created', () => {
  const { template: t } = synth({ stream: { existingName: 'vendor-feed', mode: 'on-demand', retentionHours: 24 } });
  t.resourceCountIs('AWS::Kinesis::Stream', 0);
  t.hasResourceProperties('AWS::Lambda::Function', {
    FunctionName: 'test-pushfeed-read-window',
    Environment: { Variables: Match.objectLike({ PUSHFEED_STREAM_NAME: 'vendor-feed' }) },
  });
});

test('the vendor user may only put records into, and describe, this one stream', () => {
  const userId = idOf(stack.parts.stream.vendorUser);
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Users: [{ Ref: userId }] } });
  expect(Object.keys(policies)).toHaveLength(1);
  template.hasResourceProperties('AWS::IAM::Policy', {
    Users: [{ Ref: userId }],
    PolicyDocument: {
      Statement: [
        {
          Effect: 'Allow',
          Action: ['kinesis:DescribeStreamSummary', 'kinesis:ListShards', 'kinesis:PutRecord', 'kinesis:PutRecords'],
          Resource: { 'Fn::GetAtt': [streamId, 'Arn'] },
        },
      ],
    },
  });
  template.resourceCountIs('AWS::IAM::User', 1);
  template.hasResourceProperties('AWS::IAM::User', { UserName: 'test-pushfeed-vendor' });
  // No managed policies, groups or console access.
  const user = template.findResources('AWS::IAM::User')[userId];
  expect(user.Properties.ManagedPolicyArns).toBeUndefined();
  expect(user.Properties.LoginProfile).toBeUndefined();
});

test('the vendor access key lives in Secrets Manager, and the outputs say what to give the vendor', () => {
  template.hasResourceProperties('AWS::IAM::AccessKey', { UserName: { Ref: idOf(stack.parts.stream.vendorUser) } });
  template.hasResourceProperties('AWS::SecretsManager::Secret', {
    Name: 'pushfeed/test/vendor-access-key',
    SecretString: Match.anyValue(),
  });
  const outputs = template.toJSON().Outputs as Record<string, { Description: string }>;
  const said = Object.values(outputs).map((o) => o.Description).join('\n');
  expect(said).toMatch(/Give the vendor: the Kinesis stream name/);
  expect(said).toMatch(/Give the vendor: the region/);
  expect(said).toMatch(/Give the vendor the access key in this secret/);
});

test('the stream is read only by ReadWindow', () => {
  const readers = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, p]) =>
    JSON.stringify(p).includes('kinesis:GetRecords'),
  );
  expect(readers).toHaveLength(1);
  const readRole = idOf(stack.parts.tasks.functions['read-window'].role!);
  expect(actionsOfRole(template, readRole)).toEqual(
    expect.arrayContaining(['kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards']),
  );
  expect(statementsOfRole(template, readRole)).toContainEqual(
    expect.objectContaining({ Resource: { 'Fn::GetAtt': [streamId, 'Arn'] } }),
  );
});
