// The typed configuration of one stage, read from the CDK context (cdk.json and `-c`).
import * as fs from 'fs';
import * as path from 'path';
import { Node } from 'constructs';
import { CONTRACT, timeoutChainProblems } from './contract';

/** The cdk/ directory: relative paths in the configuration are resolved against it. */
export const CDK_DIR = path.resolve(__dirname, '..');
/** The repository root, which holds config/ and statemachines/. */
export const REPO_DIR = path.resolve(CDK_DIR, '..');

/** The four Lambda task binaries, as cargo-lambda names them under target/lambda/. */
export const TASK_NAMES = ['read-window', 'deliver', 'await-objects', 'load'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

export interface StreamConfig {
  /** Import this existing stream instead of creating one (the vendor user is still created). */
  readonly existingName?: string;
  readonly mode: 'on-demand' | 'provisioned';
  /** Shards, for mode `provisioned`. */
  readonly shardCount?: number;
  /** Hours the stream keeps records (24..8760). */
  readonly retentionHours: number;
}

/** Where the tables live. */
export type RedshiftConfig =
  /** A new Redshift Serverless namespace and workgroup, with an admin secret the Load task uses. */
  | {
      readonly kind: 'serverless';
      readonly database: string;
      readonly baseCapacity: number;
      /** Subnets and security groups of the workgroup; without them the account's default VPC. */
      readonly subnetIds?: string[];
      readonly securityGroupIds?: string[];
    }
  /** An existing Redshift Serverless workgroup: by name, plus its id for the IAM ARN. */
  | {
      readonly kind: 'existing-workgroup';
      readonly database: string;
      readonly workgroupName: string;
      readonly workgroupId: string;
      /**
       * A Secrets Manager secret (username, password) that both `pushfeed schema --aws` and the
       * Load task connect with, so the tables are owned by the user that loads them. Required:
       * with IAM credentials each caller would be a different database user (the Load role's
       * own IAM-derived user would have no rights on tables someone else created).
       */
      readonly secretArn: string;
    }
  /** An existing provisioned cluster, reached with temporary credentials of a database user. */
  | {
      readonly kind: 'existing-cluster';
      readonly database: string;
      readonly clusterId: string;
      readonly dbUser: string;
    };

export interface RetentionConfig {
  /** raw/ and checkpoints/: the replay source beyond the stream's retention. */
  readonly rawDays: number;
  /** staging/: input of Deliver, only needed while a window runs or is re-run soon after. */
  readonly stagingDays: number;
  /** rejected/ and unrouted/. */
  readonly rejectedDays: number;
  /** events/ (Firehose output) and manifests/: loaded into Redshift within minutes. */
  readonly eventsDays: number;
  /** firehose-errors/. */
  readonly firehoseErrorsDays: number;
  /** CloudWatch log groups of the tasks, the state machine and Firehose. */
  readonly logDays: number;
}

export interface PushfeedConfig {
  /** Short lower-case name (dev, prod) that prefixes every physical name. */
  readonly stage: string;
  /** The directory with <task>/bootstrap: cargo-lambda's target/lambda. */
  readonly lambdaAssets: string;
  /** The routing table: one Firehose stream and one table per route. */
  readonly routesFile: string;
  /** The state machine definition, inlined with DefinitionSubstitutions. */
  readonly definitionFile: string;
  readonly stream: StreamConfig;
  readonly redshift: RedshiftConfig;
  readonly retention: RetentionConfig;
  /** Who receives failure emails and alarms. */
  readonly alertEmails: string[];
  /** Whether the every-minute schedule is enabled. */
  readonly scheduleEnabled: boolean;
  /** Window = [scheduled - lag - 1 min, scheduled - lag). */
  readonly lagMinutes: number;
  /** How long past a window's end ReadWindow waits before taking a shard's tip as its end. */
  readonly settleSeconds: number;
  /** AwaitObjects checks before Pushfeed.ObjectsNotDelivered. */
  readonly awaitAttempts: number;
  /** The Wait between two checks: the Firehose buffer interval (60 s) plus a margin. */
  readonly awaitWaitSeconds: number;
  /** Firehose buffering interval in seconds (60..900). */
  readonly firehoseBufferSeconds: number;
  /** StreamLagMs above this raises an alarm. */
  readonly lagAlarmMinutes: number;
  /** Delete the stream, the Redshift namespace and log groups with the stack (never the bucket). */
  readonly destroyOnDelete: boolean;
  /**
   * Repair executions each gaps audit may start itself (oldest gaps first), so a short outage
   * heals without a person; 0 (the default) only reports and alarms.
   */
  readonly auditRepairMax: number;
}

export const DEFAULTS: Omit<PushfeedConfig, 'stage'> = {
  lambdaAssets: '../target/lambda',
  routesFile: '../config/routes.json',
  definitionFile: '../statemachines/ingest-window.asl.json',
  stream: { mode: 'on-demand', retentionHours: 24 },
  redshift: { kind: 'serverless', database: 'pushfeed', baseCapacity: 8 },
  retention: {
    rawDays: 400,
    stagingDays: 7,
    rejectedDays: 90,
    eventsDays: 30,
    firehoseErrorsDays: 30,
    logDays: 30,
  },
  alertEmails: [],
  scheduleEnabled: true,
  lagMinutes: 1,
  settleSeconds: 10,
  awaitAttempts: 10,
  awaitWaitSeconds: 75,
  firehoseBufferSeconds: 60,
  lagAlarmMinutes: 10,
  destroyOnDelete: false,
  auditRepairMax: 0,
};

/**
 * The configuration of the stage named by context `stage` (default `dev`): DEFAULTS, then
 * `pushfeed.<stage>` from cdk.json, then single keys given with `-c` (`alertEmails` as a comma
 * separated list, `lambdaAssets`, `scheduleEnabled`).
 */
export function loadConfig(node: Node): PushfeedConfig {
  const stage = String(node.tryGetContext('stage') ?? 'dev');
  const stages = (node.tryGetContext('pushfeed') ?? {}) as Record<string, Partial<PushfeedConfig>>;
  const fromFile = stages[stage] ?? {};
  const overrides: Partial<Record<keyof PushfeedConfig, unknown>> = {};
  const emails = node.tryGetContext('alertEmails');
  if (emails !== undefined) {
    overrides.alertEmails = Array.isArray(emails)
      ? emails
      : String(emails).split(',').map((e) => e.trim()).filter((e) => e.length > 0);
  }
  const assets = node.tryGetContext('lambdaAssets');
  if (assets !== undefined) overrides.lambdaAssets = String(assets);
  const schedule = node.tryGetContext('scheduleEnabled');
  if (schedule !== undefined) overrides.scheduleEnabled = schedule === true || schedule === 'true';
  return resolveConfig({ ...DEFAULTS, ...fromFile, ...overrides, stage } as PushfeedConfig);
}

/** Validates a configuration and resolves its paths against cdk/. */
export function resolveConfig(config: PushfeedConfig): PushfeedConfig {
  const fail = (what: string) => {
    throw new Error(`Stage ${config.stage}: ${what}`);
  };
  if (!/^[a-z][a-z0-9]{0,9}$/.test(config.stage)) {
    fail('the stage name must be 1-10 lower-case letters or digits, starting with a letter (dev, prod)');
  }
  const { stream, retention } = config;
  if (stream.retentionHours < 24 || stream.retentionHours > 8760) {
    fail(`stream.retentionHours ${stream.retentionHours} is outside 24..8760`);
  }
  if (stream.mode === 'provisioned' && !(stream.shardCount && stream.shardCount >= 1)) {
    fail('stream.mode provisioned needs stream.shardCount of at least 1');
  }
  if (!Number.isInteger(config.awaitWaitSeconds) || config.awaitWaitSeconds < 1) {
    fail(`awaitWaitSeconds must be a whole number of seconds, not ${config.awaitWaitSeconds}`);
  }
  if (config.awaitWaitSeconds < config.firehoseBufferSeconds) {
    fail(`awaitWaitSeconds ${config.awaitWaitSeconds} is shorter than the Firehose buffer (${config.firehoseBufferSeconds} s)`);
  }
  if (!Number.isInteger(config.awaitAttempts) || config.awaitAttempts < 1) {
    fail(`awaitAttempts must be a whole number of checks, at least 1, not ${config.awaitAttempts}`);
  }
  if (config.firehoseBufferSeconds < 60 || config.firehoseBufferSeconds > 900) {
    fail('firehoseBufferSeconds must be 60..900 (Firehose dynamic partitioning buffers at least 60 s)');
  }
  if (retention.rawDays * 24 < stream.retentionHours) {
    fail('retention.rawDays must cover at least the stream retention: raw/ is the replay source beyond it');
  }
  const redshift = config.redshift;
  if (redshift.kind === 'existing-workgroup' && !redshift.secretArn) {
    fail(
      'redshift.secretArn is required for an existing workgroup: pushfeed schema --aws and the Load task must ' +
        'connect as the same database user, the owner of the tables (see the README, "Configure a stage")',
    );
  }
  if (!Number.isInteger(config.auditRepairMax) || config.auditRepairMax < 0 || config.auditRepairMax > 30) {
    fail(`auditRepairMax must be a whole number from 0 (off) to 30, not ${config.auditRepairMax}`);
  }
  for (const email of config.alertEmails) {
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) fail(`alertEmails: "${email}" is not an email address`);
  }
  const resolved = {
    ...config,
    lambdaAssets: path.resolve(CDK_DIR, config.lambdaAssets),
    routesFile: path.resolve(CDK_DIR, config.routesFile),
    definitionFile: path.resolve(CDK_DIR, config.definitionFile),
  };
  // Every wait must end before the execution's TimeoutSeconds, past which no failure email goes out.
  const routes = readRoutes(resolved.routesFile).length;
  for (const problem of timeoutChainProblems(config.awaitAttempts, config.awaitWaitSeconds, routes)) fail(problem);
  return resolved;
}

/** One entry of config/routes.json. */
export interface Route {
  readonly event_type: string;
  readonly table: string;
  readonly delivery_stream: string;
}

/** Reads the routing table, the same file the Rust binaries compile in. */
export function readRoutes(file: string): Route[] {
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { routes?: Route[] };
  if (!Array.isArray(parsed.routes) || parsed.routes.length === 0) {
    throw new Error(`Routing file ${file} has no routes`);
  }
  const longest = CONTRACT.notification.routed_event_type_max_chars;
  for (const r of parsed.routes) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(r.event_type) || !/^[a-z0-9-]+$/.test(r.delivery_stream)) {
      throw new Error(`Routing file ${file}: route ${JSON.stringify(r)} has an invalid event_type or delivery_stream`);
    }
    // The failure email's subject names the event type and must stay under SNS's 100 characters.
    if (r.event_type.length > longest) {
      throw new Error(
        `Routing file ${file}: event type ${r.event_type} has ${r.event_type.length} characters, and a routed type may have at most ${longest} (the failure email's subject must stay under SNS's 100 characters)`,
      );
    }
  }
  return parsed.routes;
}

/** The physical name of a stage's resource: `<stage>-pushfeed-<what>`. */
export function physicalName(stage: string, what: string): string {
  return `${stage}-pushfeed-${what}`;
}
