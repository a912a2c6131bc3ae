// The failure topic: the state machine's failure emails and every alarm go to it, encrypted, with email subscriptions.
import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { physicalName } from '../config';

export interface AlertsProps {
  readonly stage: string;
  /** Each gets an email subscription (to confirm from the first message). */
  readonly emails: string[];
}

export class Alerts extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    // A customer managed key: CloudWatch alarms cannot publish to a topic under the AWS managed aws/sns key.
    this.key = new kms.Key(this, 'Key', {
      description: `pushfeed ${props.stage}: encrypts the failure topic`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(7),
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: physicalName(props.stage, 'failures'),
      displayName: `pushfeed ${props.stage}`,
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const email of props.emails) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    new CfnOutput(this, 'FailureTopicArn', {
      value: this.topic.topicArn,
      description: 'Failure emails and alarms; subscribe more addresses here',
    });
  }
}
