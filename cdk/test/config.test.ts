// The stage configuration: defaults, cdk.json stages, -c overrides, validation, the routing file.
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { DEFAULTS, REPO_DIR, loadConfig, readRoutes, resolveConfig, PushfeedConfig } from '../lib/config';

const cdkJson = require('../cdk.json');

test('the dev stage of cdk.json resolves with paths inside the repository', () => {
  const app = new App({ context: cdkJson.context });
  const config = loadConfig(app.node);
  expect(config.stage).toBe('dev');
  expect(config.lambdaAssets).toBe(path.join(REPO_DIR, 'target', 'lambda'));
  expect(config.routesFile).toBe(path.join(REPO_DIR, 'config', 'routes.json'));
  expect(config.definitionFile).toBe(path.join(REPO_DIR, 'statemachines', 'ingest-window.asl.json'));
  expect(config.destroyOnDelete).toBe(true);
});

test('-c stage=prod picks the prod entry; -c alertEmails takes a comma-separated list', () => {
  const app = new App({ context: { ...cdkJson.context, stage: 'prod', alertEmails: 'a@example.com, b@example.com' } });
  const config = loadConfig(app.node);
  expect(config.stage).toBe('prod');
  expect(config.stream.retentionHours).toBe(168);
  expect(config.destroyOnDelete).toBe(false);
  expect(config.alertEmails).toEqual(['a@example.com', 'b@example.com']);
});

test.each<[string, Partial<PushfeedConfig>, RegExp]>([
  ['a stage name that would make invalid or colliding names', { stage: 'Prod_1' }, /stage name/],
  ['provisioned without shards', { stream: { mode: 'provisioned', retentionHours: 24 } }, /shardCount/],
  ['a retention Kinesis refuses', { stream: { mode: 'on-demand', retentionHours: 12 } }, /retentionHours/],
  ['a wait shorter than the Firehose buffer', { awaitWaitSeconds: 30 }, /shorter than the Firehose buffer/],
  ['a wait that is not a whole number', { awaitWaitSeconds: 75.5 }, /whole number/],
  ['a bad email', { alertEmails: ['ops'] }, /not an email address/],
  [
    'an existing workgroup without the secret that schema and Load share',
    { redshift: { kind: 'existing-workgroup', database: 'd', workgroupName: 'w', workgroupId: 'i' } as never },
    /secretArn is required/,
  ],
])('refuses %s', (_what, overrides, message) => {
  expect(() => resolveConfig({ ...DEFAULTS, stage: 'dev', ...overrides } as PushfeedConfig)).toThrow(message);
});

test('the routing file is the one the Rust side compiles in', () => {
  const routes = readRoutes(path.join(REPO_DIR, 'config', 'routes.json'));
  expect(routes.length).toBeGreaterThan(0);
  for (const r of routes) expect(r.delivery_stream).toMatch(/^pushfeed-/);
});
