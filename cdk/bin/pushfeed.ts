#!/usr/bin/env node
// The CDK app: one pushfeed stack for the stage named by `-c stage=<name>` (default dev), checked by cdk-nag.
import { App, Aspects, Tags } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from '../lib/config';
import { PushfeedStack } from '../lib/pushfeed-stack';

const app = new App();
const config = loadConfig(app.node);

const stack = new PushfeedStack(app, `pushfeed-${config.stage}`, {
  config,
  description: `pushfeed ${config.stage}: exactly-once ingestion of push-notification feedback from Kinesis into Redshift`,
});
Tags.of(stack).add('project', 'pushfeed');
Tags.of(stack).add('stage', config.stage);

Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
