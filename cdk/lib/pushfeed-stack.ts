// One stage of pushfeed: the constructs of lib/<concern>/ and the connections between them.
import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { Alerts } from './alerts';
import { Audit } from './audit';
import { PushfeedConfig, readRoutes } from './config';
import { Delivery } from './delivery';
import { Monitoring } from './monitoring';
import { Storage } from './storage';
import { FeedbackStream } from './stream';
import { Tasks } from './tasks';
import { Warehouse } from './warehouse';
import { Workflow } from './workflow';

export interface PushfeedStackProps extends StackProps {
  readonly config: PushfeedConfig;
}

/** The stack's constructs, one per concern. */
export interface PushfeedParts {
  readonly storage: Storage;
  readonly stream: FeedbackStream;
  readonly delivery: Delivery;
  readonly warehouse: Warehouse;
  readonly alerts: Alerts;
  readonly tasks: Tasks;
  readonly workflow: Workflow;
  readonly monitoring: Monitoring;
  readonly audit: Audit;
}

export class PushfeedStack extends Stack {
  readonly parts: PushfeedParts;

  constructor(scope: Construct, id: string, props: PushfeedStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { stage } = config;
    const routes = readRoutes(config.routesFile);
    const logDays = config.retention.logDays;
    const destroyOnDelete = config.destroyOnDelete;

    const storage = new Storage(this, 'Storage', { retention: config.retention });
    const stream = new FeedbackStream(this, 'Stream', { stage, config: config.stream, destroyOnDelete });
    // Firehose writes each route's records into the bucket's events/<TYPE>/window=<W>/.
    const delivery = new Delivery(this, 'Delivery', {
      stage,
      routes,
      bucket: storage.bucket,
      bufferSeconds: config.firehoseBufferSeconds,
      logRetentionDays: logDays,
      destroyOnDelete,
    });
    // Redshift's COPY role reads the bucket's events/, manifests/ and jsonpaths/.
    const warehouse = new Warehouse(this, 'Warehouse', { stage, config: config.redshift, bucket: storage.bucket, destroyOnDelete });
    const alerts = new Alerts(this, 'Alerts', { stage, emails: config.alertEmails });

    const tasks = new Tasks(this, 'Tasks', {
      stage,
      lambdaAssets: config.lambdaAssets,
      // Every task reads or writes its own prefixes of the one bucket.
      bucket: storage.bucket,
      // ReadWindow reads the vendor's stream.
      stream: stream.stream,
      streamName: stream.streamName,
      // Deliver puts into the route's Firehose: the stage prefix plus the route's delivery_stream.
      deliveryStreams: delivery.streams,
      deliveryStreamPrefix: delivery.streamPrefix,
      // Load runs its transaction through the Data API with the warehouse's credentials and COPY role.
      warehouseEnvironment: warehouse.environment,
      warehouseStatements: warehouse.loadStatements,
      lagMinutes: config.lagMinutes,
      settleSeconds: config.settleSeconds,
      awaitAttempts: config.awaitAttempts,
      logRetentionDays: logDays,
      destroyOnDelete,
    });

    const workflow = new Workflow(this, 'Workflow', {
      stage,
      definitionFile: config.definitionFile,
      // The definition's ${...Function} placeholders are the task functions' ARNs.
      functions: tasks.functions,
      // NotifyFailure publishes the failure email to the alert topic.
      failureTopic: alerts.topic,
      awaitWaitSeconds: config.awaitWaitSeconds,
      scheduleEnabled: config.scheduleEnabled,
      logRetentionDays: logDays,
      destroyOnDelete,
    });

    // Alarms on every part go to the same topic as the failure emails.
    const monitoring = new Monitoring(this, 'Monitoring', {
      stage,
      topic: alerts.topic,
      stateMachine: workflow.stateMachine,
      functions: tasks.functions,
      deliveryStreams: delivery.streams,
      routes,
      stream: stream.stream,
      deadLetterQueue: workflow.deadLetterQueue,
      scheduleEnabled: config.scheduleEnabled,
      lagAlarmMinutes: config.lagAlarmMinutes,
    });

    // The gaps audit reads checkpoints, executions and the ledger; its alarms go to the same topic,
    // and its metrics get a row of the same dashboard.
    const audit = new Audit(this, 'Audit', {
      stage,
      lambdaAssets: config.lambdaAssets,
      bucket: storage.bucket,
      stream: stream.stream,
      streamName: stream.streamName,
      retentionHours: config.stream.retentionHours,
      stateMachine: workflow.stateMachine,
      stateMachineName: workflow.stateMachineName,
      warehouseEnvironment: warehouse.environment,
      warehouseStatements: warehouse.loadStatements,
      warehouseArgs: warehouse.connectionArgs,
      routes,
      lagMinutes: config.lagMinutes,
      autoRepairMax: config.auditRepairMax,
      topic: alerts.topic,
      dashboard: monitoring.dashboard,
      logRetentionDays: logDays,
      destroyOnDelete,
    });

    this.parts = { storage, stream, delivery, warehouse, alerts, tasks, workflow, monitoring, audit };

    new CfnOutput(this, 'CatchUpCommand', {
      value: audit.catchUpCommand,
      description: 'Runs every window of the last 24 hours that is not complete (add --from/--to for another range)',
    });
    new CfnOutput(this, 'BucketName', { value: storage.bucket.bucketName, description: 'The data bucket (raw/, events/, ...)' });
    // The one-time DDL: the tables, pushfeed_loads and the jsonpaths, through the Data API.
    new CfnOutput(this, 'SchemaCommand', {
      value: `pushfeed schema --aws ${warehouse.connectionArgs}`,
      description: 'Run once after the first deploy (and after a route is added) to create the tables',
    });
  }
}
