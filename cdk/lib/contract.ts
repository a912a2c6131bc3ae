// The contract with the Rust tasks, config/contract.json: the names and numbers both sides build from, and the timeout chain.
import * as fs from 'fs';
import * as path from 'path';

/** config/contract.json; the Rust binaries compile in the same file (src/deploy_contract.rs). */
export const CONTRACT_FILE = path.resolve(__dirname, '..', '..', 'config', 'contract.json');

/** One task Lambda: its Task state, its variables (keys of `environment`) and its timeouts. */
export interface TaskContract {
  readonly state: string;
  readonly required: string[];
  readonly optional?: string[];
  /** Groups of which exactly one variable must be set. */
  readonly exactly_one_of?: string[][];
  /** Groups of which at most one variable may be set. */
  readonly at_most_one_of?: string[][];
  /** The longest the step itself waits for something (the Redshift statement), if it does. */
  readonly step_deadline_seconds?: number;
  readonly lambda_timeout_seconds: number;
  readonly state_timeout_seconds: number;
}

/** A retrier, exactly as the ASL spells it. */
export interface Retrier {
  readonly ErrorEquals: string[];
  readonly IntervalSeconds: number;
  readonly MaxAttempts: number;
  readonly BackoffRate: number;
  readonly MaxDelaySeconds?: number;
  readonly JitterStrategy?: string;
}

export interface Contract {
  readonly errors: Record<'transient' | 'invalid_input' | 'objects_not_delivered' | 'load_failed', string>;
  /** Variable key → environment variable name. */
  readonly environment: Record<string, string>;
  readonly tasks: Record<'read-window' | 'deliver' | 'await-objects' | 'load', TaskContract>;
  readonly s3: {
    readonly prefixes: Record<
      'raw' | 'staging' | 'rejected' | 'unrouted' | 'checkpoints' | 'events' | 'manifests' | 'jsonpaths' | 'firehose_errors',
      string
    >;
    readonly firehose: {
      /** With `{event_type}`; `!{partitionKeyFromQuery:<key>}` is Firehose's own. */
      readonly prefix: string;
      /** With `{delivery_stream}`. */
      readonly error_output_prefix: string;
      readonly partition_key: string;
      readonly compression: string;
      readonly file_extension: string;
    };
  };
  readonly metrics: {
    readonly namespace: string;
    readonly event_type_dimension: string;
    readonly window: string[];
    readonly per_event_type: string[];
    readonly lag: string;
    readonly duration: string;
  };
  readonly timeouts: {
    readonly execution_seconds: number;
    readonly lambda_over_step_deadline_min_seconds: number;
    readonly state_over_lambda_min_seconds: number;
    readonly notify_state_seconds: number;
    readonly fan_out_max_concurrency: number;
  };
  readonly retry: { readonly lambda: Retrier[]; readonly sns: Retrier[] };
  readonly notification: {
    readonly subject_max_chars: number;
    readonly routed_event_type_max_chars: number;
    readonly subject_error_names: string[];
  };
}

export const CONTRACT: Contract = JSON.parse(fs.readFileSync(CONTRACT_FILE, 'utf8'));

/** The environment variable a key of the contract's `environment` names, like `bucket` → PUSHFEED_BUCKET. */
export function envName(key: string): string {
  const name = CONTRACT.environment[key];
  if (!name) throw new Error(`${CONTRACT_FILE} names no environment variable \`${key}\``);
  return name;
}

/**
 * What is wrong with the environment a task function is given, by the contract: a required
 * variable missing, a group with the wrong count set, or a variable the task does not read.
 */
export function environmentProblems(task: keyof Contract['tasks'], env: Record<string, unknown>): string[] {
  const t = CONTRACT.tasks[task];
  const names = (keys: string[]) => keys.map(envName);
  const set = new Set(Object.keys(env));
  const problems: string[] = [];
  for (const name of names(t.required)) if (!set.has(name)) problems.push(`${task} needs ${name}`);
  for (const group of t.exactly_one_of ?? []) {
    const given = names(group).filter((n) => set.has(n));
    if (given.length !== 1) problems.push(`${task} needs exactly one of ${names(group).join(', ')}, not ${given.length}`);
  }
  for (const group of t.at_most_one_of ?? []) {
    const given = names(group).filter((n) => set.has(n));
    if (given.length > 1) problems.push(`${task} takes at most one of ${given.join(', ')}`);
  }
  const known = new Set(
    names([...t.required, ...(t.optional ?? []), ...(t.exactly_one_of ?? []).flat(), ...(t.at_most_one_of ?? []).flat()]),
  );
  for (const name of set) if (!known.has(name)) problems.push(`${task} does not read ${name}`);
  return problems;
}

/** The S3 prefix Firehose writes one type's records to, partitioned by the record's `window` key. */
export function firehosePrefix(eventType: string): string {
  return CONTRACT.s3.firehose.prefix.replace('{event_type}', eventType);
}

/** Where Firehose writes the records it could not deliver, per stream and error type. */
export function firehoseErrorPrefix(deliveryStream: string): string {
  return CONTRACT.s3.firehose.error_output_prefix.replace('{delivery_stream}', deliveryStream);
}

// ---------------------------------------------------------------------------------------------
// The timeout chain

/** A Task state's TimeoutSeconds and Retry. */
export interface StateTiming {
  readonly timeoutSeconds: number;
  readonly retry: readonly Retrier[];
}

/** What bounds how long one execution of ingest-window can run. */
export interface ExecutionShape {
  readonly readWindow: StateTiming;
  readonly deliver: StateTiming;
  readonly awaitObjects: StateTiming;
  readonly load: StateTiming;
  readonly notify: StateTiming;
  readonly notifyFallback: StateTiming;
  /** AwaitObjects checks before Pushfeed.ObjectsNotDelivered (PUSHFEED_AWAIT_ATTEMPTS). */
  readonly awaitAttempts: number;
  /** WaitForFirehose's seconds between two checks. */
  readonly awaitWaitSeconds: number;
  /** Event types a window may route: one FanOut iteration each. */
  readonly routes: number;
  /** The FanOut's MaxConcurrency: iterations beyond it wait for a free slot. */
  readonly maxConcurrency: number;
}

/**
 * The longest a Task state can take: every attempt its retriers allow runs to TimeoutSeconds,
 * and each retry waits its longest backoff (with full jitter a wait is at most the computed one).
 * AWS, "Handling errors in Step Functions workflows": MaxAttempts is "the maximum number of retry
 * attempts", IntervalSeconds "the number of seconds before the first retry attempt", BackoffRate
 * "the multiplier by which the retry interval increases during each attempt"; MaxDelaySeconds caps
 * the interval.
 */
export function stateWorstCaseSeconds(s: StateTiming): number {
  let total = s.timeoutSeconds;
  for (const r of s.retry) {
    for (let k = 0; k < r.MaxAttempts; k++) {
      const wait = r.IntervalSeconds * Math.pow(r.BackoffRate, k);
      total += s.timeoutSeconds + Math.min(wait, r.MaxDelaySeconds ?? Infinity);
    }
  }
  return total;
}

export interface WorstCase {
  readonly totalSeconds: number;
  readonly readWindow: number;
  /** One FanOut iteration: Deliver, every AwaitObjects check and wait, Load. */
  readonly iteration: number;
  /** Iterations one after the other, when there are more routes than MaxConcurrency. */
  readonly waves: number;
  readonly awaitCheck: number;
  /** NotifyFailure and NotifyFailureFallback. */
  readonly notify: number;
}

/** The longest one execution can run: ReadWindow, the FanOut's iterations, then the failure email. */
export function executionWorstCase(e: ExecutionShape): WorstCase {
  const readWindow = stateWorstCaseSeconds(e.readWindow);
  const awaitCheck = stateWorstCaseSeconds(e.awaitObjects);
  const iteration =
    stateWorstCaseSeconds(e.deliver) +
    e.awaitAttempts * awaitCheck +
    Math.max(0, e.awaitAttempts - 1) * e.awaitWaitSeconds +
    stateWorstCaseSeconds(e.load);
  const waves = Math.max(1, Math.ceil(e.routes / e.maxConcurrency));
  const notify = stateWorstCaseSeconds(e.notify) + stateWorstCaseSeconds(e.notifyFallback);
  return { totalSeconds: readWindow + waves * iteration + notify, readWindow, iteration, waves, awaitCheck, notify };
}

/** The execution's shape by the contract, for a stage's settings. */
export function contractShape(awaitAttempts: number, awaitWaitSeconds: number, routes: number): ExecutionShape {
  const t = CONTRACT.tasks;
  const lambda = (task: TaskContract) => ({ timeoutSeconds: task.state_timeout_seconds, retry: CONTRACT.retry.lambda });
  const notify = { timeoutSeconds: CONTRACT.timeouts.notify_state_seconds, retry: CONTRACT.retry.sns };
  return {
    readWindow: lambda(t['read-window']),
    deliver: lambda(t.deliver),
    awaitObjects: lambda(t['await-objects']),
    load: lambda(t.load),
    notify,
    notifyFallback: notify,
    awaitAttempts,
    awaitWaitSeconds,
    routes,
    maxConcurrency: CONTRACT.timeouts.fan_out_max_concurrency,
  };
}

/**
 * Where the chain breaks, each in one sentence naming the values: a step deadline too close to
 * its Lambda timeout, a Lambda timeout too close to its state's TimeoutSeconds, or an execution
 * whose worst case reaches the state machine's TimeoutSeconds (past which no Catch runs and no
 * failure email goes out).
 */
export function timeoutChainProblems(awaitAttempts: number, awaitWaitSeconds: number, routes: number): string[] {
  const problems: string[] = [];
  const m = CONTRACT.timeouts;
  for (const [name, t] of Object.entries(CONTRACT.tasks)) {
    if (t.step_deadline_seconds !== undefined && t.step_deadline_seconds + m.lambda_over_step_deadline_min_seconds > t.lambda_timeout_seconds) {
      problems.push(
        `${name}: its step deadline ${t.step_deadline_seconds} s must be at least ${m.lambda_over_step_deadline_min_seconds} s under its Lambda timeout ${t.lambda_timeout_seconds} s`,
      );
    }
    if (t.lambda_timeout_seconds + m.state_over_lambda_min_seconds > t.state_timeout_seconds) {
      problems.push(
        `${name}: its Lambda timeout ${t.lambda_timeout_seconds} s must be at least ${m.state_over_lambda_min_seconds} s under ${t.state}'s TimeoutSeconds ${t.state_timeout_seconds} s`,
      );
    }
  }
  const shape = contractShape(awaitAttempts, awaitWaitSeconds, routes);
  const worst = executionWorstCase(shape);
  if (worst.totalSeconds >= m.execution_seconds) {
    const perCheck = worst.awaitCheck + awaitWaitSeconds;
    const fixed = worst.totalSeconds - worst.waves * (awaitAttempts * perCheck - awaitWaitSeconds);
    const most = Math.floor(((m.execution_seconds - 1 - fixed) / worst.waves + awaitWaitSeconds) / perCheck);
    problems.push(
      `awaitAttempts ${awaitAttempts} and awaitWaitSeconds ${awaitWaitSeconds} let one execution run up to ${worst.totalSeconds} s ` +
        `(ReadWindow ${worst.readWindow} s, then ${worst.waves} round(s) of FanOut iterations of ${worst.iteration} s with ` +
        `${awaitAttempts} AwaitObjects checks of up to ${worst.awaitCheck} s, then the failure email ${worst.notify} s), ` +
        `not under the state machine's TimeoutSeconds ${m.execution_seconds} s: with awaitWaitSeconds ${awaitWaitSeconds}, ` +
        `use at most ${Math.max(0, most)} checks`,
    );
  }
  return problems;
}
