// Redshift: a new Serverless namespace and workgroup, or an existing workgroup or cluster; the COPY role; the Load task's grants.
import { ArnFormat, CfnOutput, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as redshiftserverless from 'aws-cdk-lib/aws-redshiftserverless';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { RedshiftConfig, physicalName } from '../config';
import { PREFIXES } from '../storage';

/** Redshift Serverless's default port, set explicitly on the workgroup. */
const WAREHOUSE_PORT = 5439;

export interface WarehouseProps {
  readonly stage: string;
  readonly config: RedshiftConfig;
  readonly bucket: s3.IBucket;
  readonly destroyOnDelete: boolean;
}

export class Warehouse extends Construct {
  /** The role Redshift assumes to COPY from events/ with manifests/ and jsonpaths/. */
  readonly copyRole: iam.Role;
  /** PUSHFEED_REDSHIFT_* and PUSHFEED_COPY_ROLE_ARN for the Load task. */
  readonly environment: Record<string, string>;
  /** The statements the Load task needs to run its transaction through the Data API. */
  readonly loadStatements: iam.PolicyStatement[];
  /** The admin secret of a new namespace, if this stack created one. */
  readonly adminSecret?: secretsmanager.Secret;
  /** The workgroup this stack created, if any. */
  readonly workgroup?: redshiftserverless.CfnWorkgroup;
  /** How to reach the warehouse from the `pushfeed schema --aws` command line. */
  readonly connectionArgs: string;

  constructor(scope: Construct, id: string, props: WarehouseProps) {
    super(scope, id);
    const { stage, config, bucket } = props;
    const stack = Stack.of(this);

    this.copyRole = new iam.Role(this, 'CopyRole', {
      assumedBy: new iam.CompositePrincipal(
        new iam.ServicePrincipal('redshift.amazonaws.com'),
        new iam.ServicePrincipal('redshift-serverless.amazonaws.com'),
      ),
      description: `pushfeed ${stage}: Redshift COPY reads events/, manifests/ and jsonpaths/`,
    });
    const copyRead = new iam.Policy(this, 'CopyRead', {
      statements: [
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [PREFIXES.events, PREFIXES.manifests, PREFIXES.jsonpaths].map((p) => bucket.arnForObjects(`${p}*`)),
        }),
        new iam.PolicyStatement({ actions: ['s3:ListBucket', 's3:GetBucketLocation'], resources: [bucket.bucketArn] }),
      ],
    });
    copyRead.attachToRole(this.copyRole);
    NagSuppressions.addResourceSuppressions(copyRead, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'COPY reads the objects a manifest names; they are only known per window, under events/, manifests/ and jsonpaths/.',
        appliesTo: [{ regex: '/^Resource::<.*Bucket[0-9A-F]+\\.Arn>\\/(events|manifests|jsonpaths)\\/\\*$/' }],
      },
    ]);

    const dataApiRead = new iam.PolicyStatement({
      // These Data API actions take no resource; AWS limits them to the statements this role started.
      actions: ['redshift-data:DescribeStatement', 'redshift-data:CancelStatement'],
      resources: ['*'],
    });

    switch (config.kind) {
      case 'serverless': {
        const namespaceName = physicalName(stage, 'warehouse');
        this.adminSecret = new secretsmanager.Secret(this, 'AdminSecret', {
          secretName: `pushfeed/${stage}/redshift-admin`,
          description: `pushfeed ${stage}: the admin user of Redshift Serverless namespace ${namespaceName}`,
          generateSecretString: {
            secretStringTemplate: JSON.stringify({ username: 'pushfeed_admin' }),
            generateStringKey: 'password',
            passwordLength: 32,
            // Redshift refuses ' " \ / @ and spaces in passwords.
            excludeCharacters: '\'"\\/@ ',
            requireEachIncludedType: true,
          },
          removalPolicy: props.destroyOnDelete ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
        });
        NagSuppressions.addResourceSuppressions(this.adminSecret, [
          {
            id: 'AwsSolutions-SMG4',
            reason:
              'The namespace admin password is set once from this secret through a dynamic reference; rotating it needs ' +
              'a Redshift rotation Lambda in the VPC, which this stack does not run. Rotate by hand (cdk/README.md).',
          },
        ]);
        const namespace = new redshiftserverless.CfnNamespace(this, 'Namespace', {
          namespaceName,
          dbName: config.database,
          adminUsername: this.adminSecret.secretValueFromJson('username').unsafeUnwrap(),
          adminUserPassword: this.adminSecret.secretValueFromJson('password').unsafeUnwrap(),
          iamRoles: [this.copyRole.roleArn],
          defaultIamRoleArn: this.copyRole.roleArn,
          logExports: ['userlog', 'connectionlog', 'useractivitylog'],
        });
        namespace.applyRemovalPolicy(props.destroyOnDelete ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN);
        this.workgroup = new redshiftserverless.CfnWorkgroup(this, 'Workgroup', {
          workgroupName: namespaceName,
          namespaceName,
          baseCapacity: config.baseCapacity,
          publiclyAccessible: false,
          subnetIds: config.subnetIds,
          securityGroupIds: config.securityGroupIds,
          // Set, not defaulted, so WarehouseEndpoint can name it: the workgroup's
          // Endpoint.Port attribute is an integer, which Fn::Join may not take.
          port: WAREHOUSE_PORT,
        });
        this.workgroup.addResourceDependency(namespace);
        this.workgroup.applyRemovalPolicy(props.destroyOnDelete ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN);

        this.environment = {
          PUSHFEED_REDSHIFT_WORKGROUP: namespaceName,
          PUSHFEED_REDSHIFT_DATABASE: config.database,
          PUSHFEED_REDSHIFT_SECRET_ARN: this.adminSecret.secretArn,
        };
        this.loadStatements = [
          new iam.PolicyStatement({
            actions: ['redshift-data:BatchExecuteStatement'],
            resources: [this.workgroup.attrWorkgroupWorkgroupArn],
          }),
          dataApiRead,
          new iam.PolicyStatement({
            actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            resources: [this.adminSecret.secretArn],
          }),
        ];
        this.connectionArgs = `--workgroup ${namespaceName} --database ${config.database} --secret-arn ${this.adminSecret.secretArn}`;
        new CfnOutput(this, 'WorkgroupName', { value: namespaceName, description: 'The Redshift Serverless workgroup' });
        // Where SAS, Power BI and SQL tools connect (docs/analysts.md, "Connecting").
        new CfnOutput(this, 'WarehouseEndpoint', {
          value: Fn.join(':', [this.workgroup.attrWorkgroupEndpointAddress, String(WAREHOUSE_PORT)]),
          description: 'The Redshift endpoint (host:port) for analysts\' tools; logins in the group pushfeed_analysts',
        });
        new CfnOutput(this, 'AdminSecretArn', {
          value: this.adminSecret.secretArn,
          description: 'The Redshift admin user and password (for the one-time schema command and for analysts\' setup)',
        });
        break;
      }
      case 'existing-workgroup': {
        const workgroupArn = stack.formatArn({
          service: 'redshift-serverless',
          resource: 'workgroup',
          resourceName: config.workgroupId,
        });
        this.environment = {
          PUSHFEED_REDSHIFT_WORKGROUP: config.workgroupName,
          PUSHFEED_REDSHIFT_DATABASE: config.database,
          PUSHFEED_REDSHIFT_SECRET_ARN: config.secretArn,
        };
        this.loadStatements = [
          new iam.PolicyStatement({
            actions: ['redshift-data:BatchExecuteStatement'],
            resources: [workgroupArn],
          }),
          dataApiRead,
          new iam.PolicyStatement({
            actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            resources: [config.secretArn],
          }),
        ];
        this.connectionArgs = `--workgroup ${config.workgroupName} --database ${config.database} --secret-arn ${config.secretArn}`;
        break;
      }
      case 'existing-cluster': {
        const arn = (resource: string, name: string) =>
          stack.formatArn({ service: 'redshift', resource, resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
        const clusterArn = arn('cluster', config.clusterId);
        this.environment = {
          PUSHFEED_REDSHIFT_CLUSTER_ID: config.clusterId,
          PUSHFEED_REDSHIFT_DATABASE: config.database,
          PUSHFEED_REDSHIFT_DB_USER: config.dbUser,
        };
        this.loadStatements = [
          new iam.PolicyStatement({
            actions: ['redshift-data:BatchExecuteStatement'],
            resources: [clusterArn],
          }),
          dataApiRead,
          new iam.PolicyStatement({
            actions: ['redshift:GetClusterCredentials'],
            resources: [
              arn('dbuser', `${config.clusterId}/${config.dbUser}`),
              arn('dbname', `${config.clusterId}/${config.database}`),
            ],
          }),
        ];
        this.connectionArgs = `--cluster-id ${config.clusterId} --database ${config.database} --db-user ${config.dbUser}`;
        break;
      }
    }
    this.environment = { ...this.environment, PUSHFEED_COPY_ROLE_ARN: this.copyRole.roleArn };

    new CfnOutput(this, 'CopyRoleArn', {
      value: this.copyRole.roleArn,
      description:
        config.kind === 'serverless'
          ? 'The COPY role (already the namespace default role)'
          : 'The COPY role: associate it with the existing workgroup or cluster before the first load',
    });
  }
}
