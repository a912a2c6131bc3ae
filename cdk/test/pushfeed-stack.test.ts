// The whole stack: cdk-nag AwsSolutions findings, stages that cannot collide, the outputs.
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { ConfigOverrides, synth } from './helpers';

const configurations: Array<[string, ConfigOverrides]> = [
  ['a new serverless warehouse and an on-demand stream', {}],
  ['an existing workgroup and a provisioned stream', {
    stream: { mode: 'provisioned', shardCount: 2, retentionHours: 48 },
    redshift: { kind: 'existing-workgroup', workgroupName: 'analytics', workgroupId: 'wg-1', database: 'dw', secretArn: 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:dw-AbCdEf' },
  }],
  ['an existing cluster and an imported stream', {
    stream: { existingName: 'vendor-feed', mode: 'on-demand', retentionHours: 24 },
    redshift: { kind: 'existing-cluster', clusterId: 'dw', database: 'dw', dbUser: 'loader' },
  }],
];

test.each(configurations)('cdk-nag AwsSolutions: no unsuppressed finding with %s', (_what, overrides) => {
  const { stack } = synth(overrides);
  const nag = Match.stringLikeRegexp('AwsSolutions-.*');
  const findings = [...Annotations.fromStack(stack).findError('*', nag), ...Annotations.fromStack(stack).findWarning('*', nag)];
  expect(findings.map((f) => `${f.id}: ${String(f.entry.data).split(':')[0]}`)).toEqual([]);
});

test('every suppression carries a written reason', () => {
  const { template } = synth();
  const suppressions = Object.values(template.toJSON().Resources as Record<string, any>).flatMap(
    (r) => r.Metadata?.cdk_nag?.rules_to_suppress ?? [],
  );
  expect(suppressions.length).toBeGreaterThan(0);
  for (const s of suppressions) expect(s.reason.length).toBeGreaterThan(40);
});

const PHYSICAL_NAMES = [
  'Name', 'UserName', 'DeliveryStreamName', 'FunctionName', 'LogGroupName', 'StateMachineName', 'TopicName',
  'QueueName', 'NamespaceName', 'WorkgroupName', 'AlarmName', 'DashboardName', 'RoleName', 'BucketName',
];

test('two stages in one account share no physical name', () => {
  const names = (stage: string) => {
    const resources = synth({ stage }).template.toJSON().Resources as Record<string, { Properties?: Record<string, unknown> }>;
    return Object.values(resources).flatMap((r) =>
      Object.entries(r.Properties ?? {})
        .filter(([k, v]) => PHYSICAL_NAMES.includes(k) && typeof v === 'string')
        .map(([, v]) => v as string),
    );
  };
  const dev = names('dev');
  const prod = names('prod');
  expect(dev.length).toBeGreaterThan(20);
  expect(dev.filter((n) => prod.includes(n))).toEqual([]);
});

test('the outputs tell the vendor, the operator and the schema command what they need', () => {
  const outputs = synth().template.toJSON().Outputs as Record<string, { Value: unknown }>;
  const keys = Object.keys(outputs).join(' ');
  for (const k of ['StreamName', 'StreamRegion', 'VendorSecretArn', 'StateMachineArn', 'ReplayCommand', 'FailureTopicArn', 'SchemaCommand', 'BucketName', 'CopyRoleArn', 'WarehouseEndpoint']) {
    expect(keys).toContain(k);
  }
  expect(JSON.stringify(Object.entries(outputs).find(([k]) => k.startsWith('SchemaCommand'))![1].Value)).toContain('pushfeed schema --aws --workgroup test-pushfeed-warehouse --database pushfeed --secret-arn');
});

test('WarehouseEndpoint joins only strings: the host and the port the workgroup is given', () => {
  const template = synth().template;
  template.hasResourceProperties('AWS::RedshiftServerless::Workgroup', { Port: 5439 });
  const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
  const endpoint = JSON.stringify(Object.entries(outputs).find(([k]) => k.includes('WarehouseEndpoint'))![1].Value);
  expect(endpoint).toContain('"5439"');
  // cfn-lint E6101: an integer attribute inside Fn::Join.
  expect(endpoint).not.toContain('Endpoint.Port');
});
