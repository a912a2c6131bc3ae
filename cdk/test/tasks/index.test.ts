// The four task functions: runtime, sizing, JSON logging, exactly their environment, least-privilege grants.
import { Match } from 'aws-cdk-lib/assertions';
import { TASK_NAMES } from '../../lib/config';
import { SIZING } from '../../lib/tasks';
import { actionsOfRole, idOf, newApp, resourcesAllowed, synth, testConfig } from '../helpers';
import { PushfeedStack } from '../../lib/pushfeed-stack';

const { stack, template } = synth();
const fns = stack.parts.tasks.functions;
const bucketArn = { 'Fn::GetAtt': [idOf(stack.parts.storage.bucket), 'Arn'] };
const under = (prefix: string) => ({ 'Fn::Join': ['', [bucketArn, `/${prefix}/*`]] });
const roleOf = (name: (typeof TASK_NAMES)[number]) => idOf(fns[name].role!);

test.each(TASK_NAMES.map((n) => [n]))('%s: provided.al2023 on arm64, JSON logs to its own log group, X-Ray', (name) => {
  template.hasResourceProperties('AWS::Lambda::Function', {
    FunctionName: `test-pushfeed-${name}`,
    Runtime: 'provided.al2023',
    Architectures: ['arm64'],
    Handler: 'bootstrap',
    MemorySize: SIZING[name].memoryMb,
    Timeout: SIZING[name].timeoutSeconds,
    LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: Match.anyValue() }, ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN' },
    TracingConfig: { Mode: 'Active' },
  });
  template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `/aws/lambda/test-pushfeed-${name}`, RetentionInDays: 30 });
  // No AWSLambdaBasicExecutionRole: the role's only policies are inline.
  const role = template.findResources('AWS::IAM::Role')[roleOf(name)];
  expect(role.Properties.ManagedPolicyArns).toBeUndefined();
});

test('each task gets only the environment it needs', () => {
  const env = (name: string) =>
    Object.keys(
      Object.values(template.findResources('AWS::Lambda::Function', { Properties: { FunctionName: `test-pushfeed-${name}` } }))[0]
        .Properties.Environment.Variables,
    ).sort();
  expect(env('read-window')).toEqual(['PUSHFEED_BUCKET', 'PUSHFEED_LAG_MINUTES', 'PUSHFEED_SETTLE_SECONDS', 'PUSHFEED_STREAM_NAME']);
  expect(env('deliver')).toEqual(['PUSHFEED_BUCKET', 'PUSHFEED_DELIVERY_STREAM_PREFIX']);
  expect(env('await-objects')).toEqual(['PUSHFEED_AWAIT_ATTEMPTS', 'PUSHFEED_BUCKET']);
  expect(env('load')).toEqual([
    'PUSHFEED_BUCKET',
    'PUSHFEED_COPY_ROLE_ARN',
    'PUSHFEED_REDSHIFT_DATABASE',
    'PUSHFEED_REDSHIFT_SECRET_ARN',
    'PUSHFEED_REDSHIFT_WORKGROUP',
  ]);
  template.hasResourceProperties('AWS::Lambda::Function', {
    FunctionName: 'test-pushfeed-deliver',
    Environment: { Variables: { PUSHFEED_DELIVERY_STREAM_PREFIX: 'test-' } },
  });
  template.hasResourceProperties('AWS::Lambda::Function', {
    FunctionName: 'test-pushfeed-read-window',
    Environment: {
      Variables: Match.objectLike({ PUSHFEED_STREAM_NAME: 'test-pushfeed-feedback', PUSHFEED_LAG_MINUTES: '1', PUSHFEED_SETTLE_SECONDS: '10' }),
    },
  });
  template.hasResourceProperties('AWS::Lambda::Function', {
    FunctionName: 'test-pushfeed-await-objects',
    Environment: { Variables: Match.objectLike({ PUSHFEED_AWAIT_ATTEMPTS: '10' }) },
  });
});

test('read-window: reads the stream, reads and writes only its five prefixes', () => {
  const role = roleOf('read-window');
  expect(actionsOfRole(template, role)).toEqual([
    'kinesis:GetRecords',
    'kinesis:GetShardIterator',
    'kinesis:ListShards',
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    's3:GetObject',
    's3:ListBucket',
    's3:PutObject',
    'xray:PutTelemetryRecords',
    'xray:PutTraceSegments',
  ]);
  const prefixes = ['raw', 'staging', 'rejected', 'unrouted', 'checkpoints'];
  expect(resourcesAllowed(template, role, 's3:PutObject')).toEqual(expect.arrayContaining(prefixes.map(under)));
  expect(resourcesAllowed(template, role, 's3:PutObject')).toHaveLength(prefixes.length);
});

test('deliver: reads staging/ and puts into exactly the route streams', () => {
  const role = roleOf('deliver');
  expect(actionsOfRole(template, role)).toEqual([
    'firehose:PutRecordBatch',
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    's3:GetObject',
    'xray:PutTelemetryRecords',
    'xray:PutTraceSegments',
  ]);
  expect(resourcesAllowed(template, role, 's3:GetObject')).toEqual([under('staging')]);
  const streams = resourcesAllowed(template, role, 'firehose:PutRecordBatch');
  expect(streams).toHaveLength(stack.parts.delivery.streams.length);
  expect(streams).toEqual(
    expect.arrayContaining(stack.parts.delivery.streams.map((s) => ({ 'Fn::GetAtt': [idOf(s.resource), 'Arn'] }))),
  );
});

test('await-objects: lists and reads events/ only', () => {
  const role = roleOf('await-objects');
  expect(actionsOfRole(template, role)).toEqual([
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    's3:GetObject',
    's3:ListBucket',
    'xray:PutTelemetryRecords',
    'xray:PutTraceSegments',
  ]);
  expect(resourcesAllowed(template, role, 's3:GetObject')).toEqual([under('events')]);
  template.hasResourceProperties('AWS::IAM::Policy', {
    Roles: [{ Ref: role }],
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({ Action: 's3:ListBucket', Condition: { StringLike: { 's3:prefix': ['events/*'] } } }),
      ]),
    },
  });
});

test('load: writes manifests/ and jsonpaths/, reads events/, and nothing of the stream or Firehose', () => {
  const role = roleOf('load');
  expect(resourcesAllowed(template, role, 's3:PutObject')).toEqual(expect.arrayContaining([under('manifests'), under('jsonpaths')]));
  expect(resourcesAllowed(template, role, 's3:PutObject')).toHaveLength(2);
  expect(resourcesAllowed(template, role, 's3:GetObject')).toEqual(
    expect.arrayContaining([under('events'), under('manifests'), under('jsonpaths')]),
  );
  const actions = actionsOfRole(template, role);
  expect(actions.filter((a) => a.startsWith('kinesis:') || a.startsWith('firehose:'))).toEqual([]);
});

test('a missing Rust build fails synthesis with the build command', () => {
  const app = newApp();
  expect(() => new PushfeedStack(app, 'nobuild', { config: testConfig({ lambdaAssets: '/nonexistent/target/lambda' }) })).toThrow(
    /cargo lambda build --release --arm64/,
  );
});
