// Redshift: a new Serverless namespace and workgroup, or an existing workgroup or cluster; the COPY role; Load's grants.
import { Match } from 'aws-cdk-lib/assertions';
import { actionsOfRole, idOf, resourcesAllowed, synth } from '../helpers';

describe('a new Redshift Serverless namespace', () => {
  const { stack, template } = synth();
  const { warehouse } = stack.parts;
  const copyRoleArn = { 'Fn::GetAtt': [idOf(warehouse.copyRole), 'Arn'] };

  test('namespace with the COPY role as default, admin from a generated secret, audit logs', () => {
    template.hasResourceProperties('AWS::RedshiftServerless::Namespace', {
      NamespaceName: 'test-pushfeed-warehouse',
      DbName: 'pushfeed',
      IamRoles: [copyRoleArn],
      DefaultIamRoleArn: copyRoleArn,
      AdminUsername: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
      AdminUserPassword: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
      LogExports: ['userlog', 'connectionlog', 'useractivitylog'],
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'pushfeed/test/redshift-admin',
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'password', ExcludeCharacters: '\'"\\/@ ' }),
    });
  });

  test('a private workgroup in that namespace', () => {
    template.hasResourceProperties('AWS::RedshiftServerless::Workgroup', {
      WorkgroupName: 'test-pushfeed-warehouse',
      NamespaceName: 'test-pushfeed-warehouse',
      BaseCapacity: 8,
      PubliclyAccessible: false,
    });
  });

  test('the COPY role is assumed by Redshift and reads only events/, manifests/ and jsonpaths/', () => {
    const bucketArn = { 'Fn::GetAtt': [idOf(stack.parts.storage.bucket), 'Arn'] };
    const objects = resourcesAllowed(template, idOf(warehouse.copyRole), 's3:GetObject');
    expect(objects).toHaveLength(3);
    expect(objects).toEqual(
      expect.arrayContaining(['events', 'manifests', 'jsonpaths'].map((p) => ({ 'Fn::Join': ['', [bucketArn, `/${p}/*`]] }))),
    );
    expect(actionsOfRole(template, idOf(warehouse.copyRole))).toEqual(['s3:GetBucketLocation', 's3:GetObject', 's3:ListBucket']);
  });

  test('Load runs the Data API on the workgroup and reads the admin secret', () => {
    const loadRole = idOf(stack.parts.tasks.functions.load.role!);
    expect(resourcesAllowed(template, loadRole, 'redshift-data:BatchExecuteStatement')).toEqual([
      { 'Fn::GetAtt': [idOf(warehouse.workgroup!), 'Workgroup.WorkgroupArn'] },
    ]);
    expect(resourcesAllowed(template, loadRole, 'secretsmanager:GetSecretValue')).toEqual([{ Ref: idOf(warehouse.adminSecret!) }]);
    expect(actionsOfRole(template, loadRole)).toEqual(
      expect.arrayContaining(['redshift-data:DescribeStatement', 'redshift-data:CancelStatement']),
    );
  });
});

describe('an existing workgroup', () => {
  const secretArn = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:pushfeed-loader-AbCdEf';
  const { stack, template } = synth({
    redshift: { kind: 'existing-workgroup', workgroupName: 'analytics', workgroupId: 'wg-1234', database: 'dw', secretArn },
  });

  test('creates no namespace or workgroup, and Load connects with the secret the schema command uses', () => {
    template.resourceCountIs('AWS::RedshiftServerless::Namespace', 0);
    template.resourceCountIs('AWS::RedshiftServerless::Workgroup', 0);
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'test-pushfeed-load',
      Environment: {
        Variables: Match.objectLike({
          PUSHFEED_REDSHIFT_WORKGROUP: 'analytics',
          PUSHFEED_REDSHIFT_DATABASE: 'dw',
          PUSHFEED_REDSHIFT_SECRET_ARN: secretArn,
        }),
      },
    });
    const loadRole = idOf(stack.parts.tasks.functions.load.role!);
    expect(resourcesAllowed(template, loadRole, 'secretsmanager:GetSecretValue')).toEqual([secretArn]);
    expect(JSON.stringify(resourcesAllowed(template, loadRole, 'redshift-data:BatchExecuteStatement'))).toContain(':workgroup/wg-1234');
    // Its own IAM-derived database user would own nothing: it gets no way to sign in as one.
    expect(actionsOfRole(template, loadRole)).not.toContain('redshift-serverless:GetCredentials');
    expect(JSON.stringify(template.findOutputs('SchemaCommand'))).toContain(`--secret-arn ${secretArn}`);
  });
});

describe('an existing cluster', () => {
  const { stack, template } = synth({
    redshift: { kind: 'existing-cluster', clusterId: 'dw-cluster', database: 'dw', dbUser: 'pushfeed_loader' },
  });

  test('Load gets temporary credentials of its database user only', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'test-pushfeed-load',
      Environment: {
        Variables: Match.objectLike({
          PUSHFEED_REDSHIFT_CLUSTER_ID: 'dw-cluster',
          PUSHFEED_REDSHIFT_DB_USER: 'pushfeed_loader',
          PUSHFEED_REDSHIFT_DATABASE: 'dw',
        }),
      },
    });
    const creds = JSON.stringify(
      resourcesAllowed(template, idOf(stack.parts.tasks.functions.load.role!), 'redshift:GetClusterCredentials'),
    );
    expect(creds).toContain(':dbuser:dw-cluster/pushfeed_loader');
    expect(creds).toContain(':dbname:dw-cluster/dw');
  });
});
