// The gaps audit: its function and 10-minute schedule, its grants, its alarms to the failure topic and
// its row of the dashboard.
import { Match } from 'aws-cdk-lib/assertions';
import { AUDIT_METRICS } from '../../lib/audit';
import { CONTRACT } from '../../lib/contract';
import { actionsOfRole, idOf, resourcesAllowed, synth } from '../helpers';

const { stack, template } = synth();
const { audit, alerts, workflow } = stack.parts;
const roleId = idOf(audit.function.role!);
const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
const byName = Object.fromEntries(alarms.map((a) => [a.AlarmName, a]));
const text = (v: unknown) => JSON.stringify(v);

test('the audit function runs every 10 minutes from EventBridge Scheduler', () => {
  template.hasResourceProperties('AWS::Lambda::Function', {
    FunctionName: 'test-pushfeed-audit',
    Runtime: 'provided.al2023',
    ReservedConcurrentExecutions: 1,
    Environment: { Variables: Match.objectLike({ PUSHFEED_AUDIT_REPAIR_MAX: '0', PUSHFEED_REDSHIFT_DATABASE: 'pushfeed' }) },
  });
  template.hasResourceProperties('AWS::Scheduler::Schedule', {
    Name: 'test-pushfeed-audit',
    ScheduleExpression: 'rate(10 minutes)',
    Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [idOf(audit.function), 'Arn'] } }),
  });
});

test('it may read checkpoints, executions, the stream summary and the ledger, and by default start nothing', () => {
  const actions = actionsOfRole(template, roleId);
  for (const a of ['s3:GetObject', 's3:ListBucket', 'states:ListExecutions', 'states:DescribeExecution', 'kinesis:DescribeStreamSummary']) {
    expect(actions).toContain(a);
  }
  expect(actions).not.toContain('states:StartExecution');
  expect(actions).not.toContain('s3:PutObject');
  expect(text(resourcesAllowed(template, roleId, 's3:GetObject'))).toContain('/checkpoints/*');
});

test('with auditRepairMax set it may start executions of its state machine only', () => {
  const repairing = synth({ auditRepairMax: 5 });
  const id = idOf(repairing.stack.parts.audit.function.role!);
  expect(resourcesAllowed(repairing.template, id, 'states:StartExecution')).toEqual([
    { Ref: idOf(repairing.stack.parts.workflow.stateMachine) },
  ]);
  repairing.template.hasResourceProperties('AWS::Lambda::Function', {
    FunctionName: 'test-pushfeed-audit',
    Environment: { Variables: Match.objectLike({ PUSHFEED_AUDIT_REPAIR_MAX: '5' }) },
  });
});

test('alarms: missing or failed for 15 minutes, the last chance before retention, freshness', () => {
  const topic = [{ Ref: idOf(alerts.topic) }];
  for (const [name, metric] of [
    ['test-pushfeed-windows-missing', AUDIT_METRICS.missing],
    ['test-pushfeed-windows-failed', AUDIT_METRICS.failed],
  ]) {
    expect(byName[name]).toMatchObject({ MetricName: metric, Namespace: 'pushfeed', Threshold: 1, AlarmActions: topic });
  }
  const lastChance = byName['test-pushfeed-gap-last-chance'];
  // 24 h retention, 6 h before it: a gap 18 hours old.
  expect(lastChance).toMatchObject({ MetricName: AUDIT_METRICS.oldestGapMinutes, Threshold: 18 * 60, AlarmActions: topic });
  const description = text(lastChance.AlarmDescription);
  expect(description).toContain('LAST CHANCE BEFORE DATA LOSS');
  expect(description).toContain('pushfeed catch-up --aws --state-machine');
  expect(description).toContain(idOf(workflow.stateMachine));
  const freshness = byName['test-pushfeed-freshness'];
  expect(freshness.Threshold).toBe(601);
  expect(text(freshness.Metrics)).toContain('FreshnessSeconds');
  expect(text(freshness.Metrics)).toContain('push_sends');
});

test('the last-chance threshold follows the stream retention', () => {
  const longer = synth({ stream: { mode: 'on-demand', retentionHours: 48 } });
  const a = Object.values(longer.template.findResources('AWS::CloudWatch::Alarm'))
    .map((r) => r.Properties)
    .find((p) => p.AlarmName === 'test-pushfeed-gap-last-chance');
  expect(a.Threshold).toBe(42 * 60);
});

test('the dashboard has a gaps and freshness row', () => {
  const body = text(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);
  for (const m of ['WindowsMissing', 'WindowsFailed', 'WindowsPartial', 'OldestGapMinutes', 'FreshnessSeconds', 'Gaps: windows not complete']) {
    expect(body).toContain(m);
  }
});

test('the stack says how to catch up', () => {
  const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
  const [, out] = Object.entries(outputs).find(([k]) => k.startsWith('CatchUpCommand'))!;
  expect(text(out.Value)).toContain('pushfeed catch-up --aws --state-machine');
  expect(text(out.Value)).toContain('--workgroup test-pushfeed-warehouse --database pushfeed --secret-arn');
});

test('the metric names are the contract\'s (config/contract.json metrics.audit), as the audit function emits them', () => {
  const metrics = CONTRACT.metrics as unknown as { audit: string[]; audit_table_dimension: string };
  const m = AUDIT_METRICS;
  expect(metrics.audit).toEqual([m.missing, m.failed, m.partial, m.oldestGapMinutes, m.freshnessSeconds]);
  expect(metrics.audit_table_dimension).toBe(m.tableDimension);
});
