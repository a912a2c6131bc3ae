// The synthesized stages against config/contract.json, the file the Rust tasks compile in: variable names, S3 layout, Firehose output, metrics, and the timeout chain.
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  CONTRACT,
  ExecutionShape,
  Retrier,
  envName,
  environmentProblems,
  executionWorstCase,
  stateWorstCaseSeconds,
} from '../lib/contract';
import { TASK_NAMES, TaskName, loadConfig } from '../lib/config';
import { PushfeedStack } from '../lib/pushfeed-stack';
import { PLACEHOLDER_ASSETS, synth } from './helpers';

const cdkJson = require('../cdk.json');

/** A stage of cdk.json as `cdk synth -c stage=<name>` builds it, with the placeholder binaries. */
function stage(name: string): { template: Template; stack: PushfeedStack } {
  const app = new App({
    context: { ...cdkJson.context, stage: name, lambdaAssets: PLACEHOLDER_ASSETS, 'aws:cdk:bundling-stacks': [] },
  });
  const config = loadConfig(app.node);
  const stack = new PushfeedStack(app, `pushfeed-${name}`, { config });
  return { template: Template.fromStack(stack), stack };
}

interface Synthesized {
  readonly stage: string;
  readonly template: Template;
  /** The ASL as deployed (its placeholders stay inside strings, so it parses as JSON). */
  readonly definition: any;
  readonly substitutions: Record<string, unknown>;
  readonly fn: (task: TaskName) => { Timeout: number; Environment: { Variables: Record<string, unknown> } };
}

function synthesized(name: string): Synthesized {
  const { template } = stage(name);
  const sm = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0];
  const fns = Object.values(template.findResources('AWS::Lambda::Function'));
  return {
    stage: name,
    template,
    definition: JSON.parse(sm.Properties.DefinitionString),
    substitutions: sm.Properties.DefinitionSubstitutions,
    fn: (task) => {
      const f = fns.find((r) => r.Properties.FunctionName === `${name}-pushfeed-${task}`);
      if (!f) throw new Error(`no function ${name}-pushfeed-${task}`);
      return f.Properties;
    },
  };
}

const STAGES = ['dev', 'prod'].map(synthesized);

/** A Task state of the definition, top level or inside the FanOut. */
function taskState(definition: any, name: string): any {
  return definition.States[name] ?? definition.States.FanOut.ItemProcessor.States[name];
}

/** What bounds one execution, read from the template and the definition only. */
function shapeOf(s: Synthesized): ExecutionShape {
  const timing = (state: string) => {
    const t = taskState(s.definition, state);
    return { timeoutSeconds: t.TimeoutSeconds as number, retry: t.Retry as Retrier[] };
  };
  return {
    readWindow: timing('ReadWindow'),
    deliver: timing('Deliver'),
    awaitObjects: timing('AwaitObjects'),
    load: timing('Load'),
    notify: timing('NotifyFailure'),
    notifyFallback: timing('NotifyFailureFallback'),
    awaitAttempts: Number(s.fn('await-objects').Environment.Variables[envName('await_attempts')]),
    awaitWaitSeconds: Number(s.substitutions.AwaitWaitSeconds),
    routes: Object.keys(s.template.findResources('AWS::KinesisFirehose::DeliveryStream')).length,
    maxConcurrency: s.definition.States.FanOut.MaxConcurrency,
  };
}

describe.each(STAGES.map((s) => [s.stage, s] as const))('stage %s: the timeout chain', (_name, s) => {
  test.each(TASK_NAMES.map((t) => [t]))('%s: step deadline < Lambda timeout < its state\'s TimeoutSeconds', (task) => {
    const contract = CONTRACT.tasks[task];
    const lambda = s.fn(task).Timeout;
    const state = taskState(s.definition, contract.state);
    expect(lambda).toBe(contract.lambda_timeout_seconds);
    expect(state.TimeoutSeconds).toBe(contract.state_timeout_seconds);
    // A cold start's Init phase may take 10 s before the function's own timeout starts (Lambda,
    // "Understanding the Lambda execution environment lifecycle": "The Init phase is limited to
    // 10 seconds"), so the state waits at least 20 s longer than the function may run.
    expect(lambda + CONTRACT.timeouts.state_over_lambda_min_seconds).toBeLessThanOrEqual(state.TimeoutSeconds);
    if (contract.step_deadline_seconds !== undefined) {
      // The deadline leaves the function time to cancel the statement and report.
      expect(contract.step_deadline_seconds + CONTRACT.timeouts.lambda_over_step_deadline_min_seconds).toBeLessThanOrEqual(lambda);
    }
    // Killed at its timeout, the function is reported as Sandbox.Timedout or Lambda.Unknown; the
    // state's own timeout as States.Timeout. Each is retried, since every step is idempotent.
    const retried = (state.Retry as Retrier[]).flatMap((r) => r.ErrorEquals);
    for (const e of ['Sandbox.Timedout', 'Lambda.Unknown', 'States.Timeout', CONTRACT.errors.transient]) {
      expect(retried).toContain(e);
    }
  });

  test('every retry and every AwaitObjects check ends before the execution times out', () => {
    const worst = executionWorstCase(shapeOf(s));
    console.log(`${s.stage}: one execution runs at most ${worst.totalSeconds} s of its ${s.definition.TimeoutSeconds} s`, worst);
    expect(worst.totalSeconds).toBeLessThan(s.definition.TimeoutSeconds);
    expect(s.definition.TimeoutSeconds).toBe(CONTRACT.timeouts.execution_seconds);
  });
});

test('a state worst case counts every attempt at its timeout and each capped backoff', () => {
  const retry: Retrier[] = [
    { ErrorEquals: ['A'], IntervalSeconds: 2, MaxAttempts: 4, BackoffRate: 2, MaxDelaySeconds: 10 },
    { ErrorEquals: ['B'], IntervalSeconds: 3, MaxAttempts: 1, BackoffRate: 2 },
  ];
  // 6 runs of 100 s; waits 2, 4, 8, 10 (capped) and 3.
  expect(stateWorstCaseSeconds({ timeoutSeconds: 100, retry })).toBe(600 + 27);
  expect(stateWorstCaseSeconds({ timeoutSeconds: 30, retry: [] })).toBe(30);
});

test('more routes than the FanOut runs at once take rounds', () => {
  const s = shapeOf(STAGES[0]);
  const one = executionWorstCase({ ...s, routes: s.maxConcurrency });
  const two = executionWorstCase({ ...s, routes: s.maxConcurrency + 1 });
  expect(two.totalSeconds - one.totalSeconds).toBe(one.iteration);
});

test('the definition retries and names errors as the contract says', () => {
  const d = STAGES[0].definition;
  for (const task of TASK_NAMES) expect(taskState(d, CONTRACT.tasks[task].state).Retry).toEqual(CONTRACT.retry.lambda);
  for (const notify of ['NotifyFailure', 'NotifyFailureFallback']) {
    expect(d.States[notify].Retry).toEqual(CONTRACT.retry.sns);
    expect(d.States[notify].TimeoutSeconds).toBe(CONTRACT.timeouts.notify_state_seconds);
    // Only what can pass on a second try: never States.TaskFailed, which matches every SNS refusal.
    expect(CONTRACT.retry.sns.flatMap((r) => r.ErrorEquals)).not.toContain('States.TaskFailed');
  }
  const listed = d.States['SubjectNamesTheError?'].Choices[0].Or.map((r: any) => r.StringEquals).sort();
  expect(listed).toEqual([...CONTRACT.notification.subject_error_names].sort());
  const text = JSON.stringify(d);
  const named = new Set([...text.matchAll(/Pushfeed\.[A-Za-z]+/g)].map((m) => m[0]));
  expect([...named].sort()).toEqual(Object.values(CONTRACT.errors).sort());
});

const CONFIGURATIONS = [
  {},
  {
    redshift: {
      kind: 'existing-workgroup' as const,
      workgroupName: 'analytics',
      workgroupId: 'wg-1',
      database: 'dw',
      secretArn: 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:dw-AbCdEf',
    },
  },
  { redshift: { kind: 'existing-cluster' as const, clusterId: 'dw', database: 'dw', dbUser: 'loader' } },
];

test.each(CONFIGURATIONS.map((c) => [c.redshift?.kind ?? 'serverless', c]))(
  '%s: every task gets the variables the contract requires, and only ones it reads',
  (_kind, overrides) => {
    const { template } = synth(overrides);
    const fns = Object.values(template.findResources('AWS::Lambda::Function'));
    for (const task of TASK_NAMES) {
      const f = fns.find((r) => r.Properties.FunctionName === `test-pushfeed-${task}`)!;
      expect([task, environmentProblems(task, f.Properties.Environment.Variables)]).toEqual([task, []]);
    }
  },
);

test('a task environment the contract does not allow is named', () => {
  expect(environmentProblems('load', { PUSHFEED_BUCKET: 'b', PUSHFEED_TYPO: 'x' })).toEqual([
    'load needs PUSHFEED_REDSHIFT_DATABASE',
    'load needs PUSHFEED_COPY_ROLE_ARN',
    'load needs exactly one of PUSHFEED_REDSHIFT_WORKGROUP, PUSHFEED_REDSHIFT_CLUSTER_ID, not 0',
    'load does not read PUSHFEED_TYPO',
  ]);
});

test("Firehose writes under the contract's prefixes with its file extension", () => {
  const { template } = synth();
  const fh = CONTRACT.s3.firehose;
  // The Firehose API model (botocore firehose 2015-08-04, shape FileExtension): max 128,
  // pattern ^$|\.[0-9a-z!\-_.*'()]+
  expect(fh.file_extension).toMatch(/^$|^\.[0-9a-z!\-_.*'()]+$/);
  expect(fh.file_extension.length).toBeLessThanOrEqual(128);
  for (const s of Object.values(template.findResources('AWS::KinesisFirehose::DeliveryStream'))) {
    const c = s.Properties.ExtendedS3DestinationConfiguration;
    expect(c.FileExtension).toBe(fh.file_extension);
    expect(c.CompressionFormat).toBe(fh.compression);
    expect(c.Prefix).toMatch(new RegExp(`^${CONTRACT.s3.prefixes.events}[A-Z0-9_]+/window=!\\{partitionKeyFromQuery:${fh.partition_key}\\}/$`));
    expect(c.ErrorOutputPrefix).toBe(fh.error_output_prefix.replace('{delivery_stream}', s.Properties.DeliveryStreamName));
  }
});

test("the bucket's lifecycle rules cover the contract's prefixes", () => {
  const { template, stack } = synth();
  const buckets = template.findResources('AWS::S3::Bucket');
  const rules = Object.values(buckets).flatMap((b) => b.Properties.LifecycleConfiguration?.Rules ?? []);
  const prefixes = rules.map((r: any) => r.Prefix).filter((p: unknown) => p !== undefined).sort();
  // jsonpaths/ is kept: COPY reads it on every load.
  const expected = Object.entries(CONTRACT.s3.prefixes)
    .filter(([k]) => k !== 'jsonpaths')
    .map(([, p]) => p)
    .sort();
  expect(prefixes).toEqual(expected);
  expect(stack.parts.storage.objectsUnder(CONTRACT.s3.prefixes.raw)).toBeDefined();
});

test('the stream-lag alarm and the dashboard read the metrics the tasks emit', () => {
  const { template } = synth();
  const m = CONTRACT.metrics;
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
  const lag = alarms.filter((a) => a.Properties.MetricName === m.lag);
  expect(lag).toHaveLength(1);
  expect(lag[0].Properties.Namespace).toBe(m.namespace);
  expect(lag[0].Properties.Dimensions).toBeUndefined();
  const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);
  for (const name of [...m.window, ...m.per_event_type, m.duration]) expect(body).toContain(name);
  expect(body).toContain(m.event_type_dimension);
});
