// Builds a pushfeed stack for tests: the test placeholder binaries instead of the Rust build, cdk-nag applied.
import * as fs from 'fs';
import * as path from 'path';
import { App, Aspects, CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { IConstruct } from 'constructs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULTS, PushfeedConfig, resolveConfig } from '../lib/config';
import { PushfeedStack } from '../lib/pushfeed-stack';

/** One tiny `bootstrap` per task, so synthesis needs no `cargo lambda build`. */
export const PLACEHOLDER_ASSETS = path.join(__dirname, 'fixtures', 'lambda');

export type ConfigOverrides = Partial<Omit<PushfeedConfig, 'stage'>> & { stage?: string };

export function testConfig(overrides: ConfigOverrides = {}): PushfeedConfig {
  return resolveConfig({
    ...DEFAULTS,
    stage: 'test',
    alertEmails: ['ops@example.com'],
    lambdaAssets: PLACEHOLDER_ASSETS,
    ...overrides,
  } as PushfeedConfig);
}

export interface Synthesized {
  readonly app: App;
  readonly stack: PushfeedStack;
  readonly template: Template;
}

/** The feature flags of cdk.json, so tests synthesize what `cdk deploy` does. */
const FEATURE_FLAGS: Record<string, unknown> = Object.fromEntries(
  Object.entries(JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')).context).filter(([k]) =>
    k.startsWith('@aws-cdk/'),
  ),
);

/** An App with cdk.json's feature flags and bundling off. */
export function newApp(): App {
  return new App({ context: { ...FEATURE_FLAGS, 'aws:cdk:bundling-stacks': [] } });
}

const cache = new Map<string, Synthesized>();

/** Synthesizes (once per configuration) a stack with bundling off and cdk-nag's AwsSolutions checks. */
export function synth(overrides: ConfigOverrides = {}): Synthesized {
  const key = JSON.stringify(overrides);
  const hit = cache.get(key);
  if (hit) return hit;
  const config = testConfig(overrides);
  const app = newApp();
  const stack = new PushfeedStack(app, `pushfeed-${config.stage}`, { config });
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  const template = Template.fromStack(stack);
  const result = { app, stack, template };
  cache.set(key, result);
  return result;
}


/** The logical id of the resource behind a construct (its default child) in the synthesized template. */
export function idOf(construct: IConstruct): string {
  const stack = Stack.of(construct);
  const resource = (construct.node.defaultChild ?? construct) as CfnElement;
  return stack.resolve(stack.getLogicalId(resource)) as string;
}

/** The statements of the inline IAM policies attached to a role, by the role's logical id. */
export function statementsOfRole(template: Template, roleLogicalId: string): Array<Record<string, unknown>> {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleLogicalId }]) },
  });
  return Object.values(policies).flatMap(
    (p) => (p as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties.PolicyDocument.Statement,
  );
}

/** Every action a role's inline policies allow, sorted. */
export function actionsOfRole(template: Template, roleLogicalId: string): string[] {
  return statementsOfRole(template, roleLogicalId)
    .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]) as string[])
    .sort();
}

/** Every resource a role's inline policies allow an action on (statements are merged by minimizePolicies). */
export function resourcesAllowed(template: Template, roleLogicalId: string, action: string): unknown[] {
  return statementsOfRole(template, roleLogicalId)
    .filter((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]).includes(action))
    .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
}
