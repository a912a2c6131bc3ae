// The failure topic: KMS-encrypted with a rotating key CloudWatch may use, TLS only, email subscriptions.
import { Match } from 'aws-cdk-lib/assertions';
import { idOf, synth } from '../helpers';

const { stack, template } = synth({ alertEmails: ['ops@example.com', 'data@example.com'] });

test('the topic is encrypted with a rotating customer managed key that CloudWatch alarms can use', () => {
  template.hasResourceProperties('AWS::SNS::Topic', {
    TopicName: 'test-pushfeed-failures',
    KmsMasterKeyId: { 'Fn::GetAtt': [idOf(stack.parts.alerts.key), 'Arn'] },
  });
  template.hasResourceProperties('AWS::KMS::Key', {
    EnableKeyRotation: true,
    KeyPolicy: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        }),
      ]),
    },
  });
});

test('publishing requires TLS', () => {
  template.hasResourceProperties('AWS::SNS::TopicPolicy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]),
    },
  });
});

test('one email subscription per configured address', () => {
  template.resourceCountIs('AWS::SNS::Subscription', 2);
  for (const email of ['ops@example.com', 'data@example.com']) {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: email,
      TopicArn: { Ref: idOf(stack.parts.alerts.topic) },
    });
  }
});
