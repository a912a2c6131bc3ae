// The stage configuration: defaults, cdk.json stages, -c overrides, validation, the routing file.
import * as fs from 'fs';
import * as os from 'os';
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
  ['no AwaitObjects check at all', { awaitAttempts: 0 }, /awaitAttempts must be a whole number of checks/],
  // Past the execution's TimeoutSeconds no Catch runs, so no failure email would go out.
  [
    'an await loop that can outlast the execution',
    { awaitAttempts: 20 },
    /^Stage dev: awaitAttempts 20 and awaitWaitSeconds 75 let one execution run up to 24121 s .* not under the state machine's TimeoutSeconds 18000 s: with awaitWaitSeconds 75, use at most 12 checks$/,
  ],
  ['waits that together outlast the execution', { awaitWaitSeconds: 900 }, /awaitAttempts 10 and awaitWaitSeconds 900 .*use at most 6 checks/],
])('refuses %s', (_what, overrides, message) => {
  expect(() => resolveConfig({ ...DEFAULTS, stage: 'dev', ...overrides } as PushfeedConfig)).toThrow(message);
});

test('the longest await loop the execution timeout allows is accepted', () => {
  expect(resolveConfig({ ...DEFAULTS, stage: 'dev', awaitAttempts: 12 } as PushfeedConfig).awaitAttempts).toBe(12);
});

test('a routed event type too long for the failure subject is refused with the limit', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'routes-'));
  const file = path.join(dir, 'routes.json');
  const route = (t: string) => ({ routes: [{ event_type: t, table: 't', delivery_stream: 'pushfeed-t' }] });
  fs.writeFileSync(file, JSON.stringify(route('IN_APP_MESSAGE_RESOLUTION_X')));
  expect(readRoutes(file)).toHaveLength(1);
  fs.writeFileSync(file, JSON.stringify(route('IN_APP_MESSAGE_RESOLUTION_XY')));
  expect(() => readRoutes(file)).toThrow(/IN_APP_MESSAGE_RESOLUTION_XY has 28 characters, and a routed type may have at most 27/);
});

test('the routing file is the one the Rust side compiles in', () => {
  const routes = readRoutes(path.join(REPO_DIR, 'config', 'routes.json'));
  expect(routes.length).toBeGreaterThan(0);
  for (const r of routes) expect(r.delivery_stream).toMatch(/^pushfeed-/);
});
