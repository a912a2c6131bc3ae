// The state machine (the ASL file inlined, with its substitutions) and the every-minute schedule.
import * as fs from 'fs';
import * as path from 'path';
import { Match } from 'aws-cdk-lib/assertions';
import { REPO_DIR } from '../../lib/config';
import { SCHEDULE_INPUT } from '../../lib/workflow';
import { idOf, resourcesAllowed, synth } from '../helpers';

const ASL_FILE = path.join(REPO_DIR, 'statemachines', 'ingest-window.asl.json');
const aslText = fs.readFileSync(ASL_FILE, 'utf8');
const { stack, template } = synth();
const { workflow, tasks, alerts } = stack.parts;
const smId = idOf(workflow.stateMachine);
const sm = template.findResources('AWS::StepFunctions::StateMachine')[smId];

test('the definition is the file, byte for byte', () => {
  expect(sm.Properties.DefinitionString).toBe(aslText);
});

test('every placeholder of the file has a substitution, and nothing else does', () => {
  const placeholders = [...new Set([...aslText.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]))].sort();
  expect(Object.keys(sm.Properties.DefinitionSubstitutions).sort()).toEqual(placeholders);
});

test('after substitution the definition is valid JSON naming the functions, the topic and this state machine', () => {
  const fnArn = (name: keyof typeof tasks.functions) => ({ 'Fn::GetAtt': [idOf(tasks.functions[name]), 'Arn'] });
  const subs = sm.Properties.DefinitionSubstitutions;
  expect(subs).toEqual({
    ReadWindowFunction: fnArn('read-window'),
    DeliverFunction: fnArn('deliver'),
    AwaitObjectsFunction: fnArn('await-objects'),
    LoadFunction: fnArn('load'),
    FailureTopicArn: { Ref: idOf(alerts.topic) },
    AwaitWaitSeconds: '75',
    Region: { Ref: 'AWS::Region' },
    ReplayCommand: {
      'Fn::Join': [
        '',
        [
          'pushfeed replay --aws --state-machine arn:',
          { Ref: 'AWS::Partition' },
          ':states:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':stateMachine:test-pushfeed-ingest-window',
        ],
      ],
    },
  });
  // Substitute as CloudFormation would, with readable stand-ins for the intrinsics.
  const text = (v: unknown): string =>
    typeof v === 'string'
      ? v
      : (v as any)['Fn::GetAtt']
        ? `<${(v as any)['Fn::GetAtt'][0]}.Arn>`
        : (v as any).Ref
          ? `<${(v as any).Ref}>`
          : (v as any)['Fn::Join'][1].map(text).join('');
  let definition = aslText;
  for (const [k, v] of Object.entries(subs)) definition = definition.split('${' + k + '}').join(text(v));
  expect(definition).not.toMatch(/\$\{/);
  const asl = JSON.parse(definition);
  expect(asl.States.ReadWindow.Parameters.FunctionName).toBe(`<${idOf(tasks.functions['read-window'])}.Arn>`);
  expect(asl.States.FanOut.ItemProcessor.States.Load.Parameters.FunctionName).toBe(`<${idOf(tasks.functions.load)}.Arn>`);
  expect(asl.States.NotifyFailure.Parameters.TopicArn).toBe(`<${idOf(alerts.topic)}>`);
  expect(asl.States.FanOut.ItemSelector['wait_seconds.$']).toBe("States.StringToJson('75')");
  // The replay command names this state machine's own ARN, built from its fixed name (no cycle).
  expect(definition).toContain('pushfeed replay --aws --state-machine arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:test-pushfeed-ingest-window --from');
});

test('a Standard state machine with ALL logging, execution data, and X-Ray', () => {
  template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
    StateMachineName: 'test-pushfeed-ingest-window',
    StateMachineType: 'STANDARD',
    LoggingConfiguration: {
      Level: 'ALL',
      IncludeExecutionData: true,
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } } }],
    },
    TracingConfiguration: { Enabled: true },
  });
  template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/vendedlogs/states/test-pushfeed-ingest-window' });
});

test('the state machine may invoke exactly the four functions and publish to the topic', () => {
  const role = idOf(workflow.stateMachine.role);
  const invoked = resourcesAllowed(template, role, 'lambda:InvokeFunction');
  expect(invoked).toHaveLength(4);
  expect(invoked).toEqual(
    expect.arrayContaining(Object.values(tasks.functions).map((f) => ({ 'Fn::GetAtt': [idOf(f), 'Arn'] }))),
  );
  expect(resourcesAllowed(template, role, 'sns:Publish')).toEqual([{ Ref: idOf(alerts.topic) }]);
  expect(resourcesAllowed(template, role, 'kms:GenerateDataKey*')).toEqual([{ 'Fn::GetAtt': [idOf(alerts.key), 'Arn'] }]);
});

test('the schedule starts it every minute with the scheduled time, retries, and dead-letters', () => {
  expect(SCHEDULE_INPUT).toBe('{"scheduled_time": "<aws.scheduler.scheduled-time>"}');
  template.hasResourceProperties('AWS::Scheduler::Schedule', {
    Name: 'test-pushfeed-every-minute',
    ScheduleExpression: 'rate(1 minute)',
    FlexibleTimeWindow: { Mode: 'OFF' },
    State: 'ENABLED',
    Target: {
      Arn: { Ref: smId },
      Input: SCHEDULE_INPUT,
      RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 20 },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [idOf(workflow.deadLetterQueue), 'Arn'] } },
      RoleArn: Match.anyValue(),
    },
  });
  template.hasResourceProperties('AWS::SQS::Queue', {
    QueueName: 'test-pushfeed-schedule-dead-letters',
    SqsManagedSseEnabled: true,
    MessageRetentionPeriod: 1209600,
  });
});

test('the schedule role may only start this state machine and dead-letter', () => {
  const schedule = Object.values(template.findResources('AWS::Scheduler::Schedule'))[0];
  const role = schedule.Properties.Target.RoleArn['Fn::GetAtt'][0];
  expect(resourcesAllowed(template, role, 'states:StartExecution')).toEqual([{ Ref: smId }]);
  expect(resourcesAllowed(template, role, 'sqs:SendMessage')).toEqual([
    { 'Fn::GetAtt': [idOf(workflow.deadLetterQueue), 'Arn'] },
  ]);
});

test('scheduleEnabled false deploys the schedule disabled', () => {
  synth({ scheduleEnabled: false }).template.hasResourceProperties('AWS::Scheduler::Schedule', { State: 'DISABLED' });
});
