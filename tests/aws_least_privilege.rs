//! Least privilege, tested: each task runs its real step through the AWS adapters under the
//! policy its role has in the synthesized CDK template, on the moto server that enforces IAM
//! (scripts/moto_iam.py), so any call the code makes that its role does not allow fails here.
//!
//! The template's intrinsics are resolved to the resources this test creates in moto. The stage's
//! physical names (`dev-pushfeed-...`) get a prefix unique to the test instead of `dev-`, so tests
//! sharing the server never share a resource. What moto enforces and what stays assumed:
//! docs/aws.md, "Least privilege".
#![cfg(feature = "aws")]

mod conformance;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use pushfeed::adapters::aws::config::s3_client;
use pushfeed::adapters::aws::lambda::{self, TaskFailure};
use pushfeed::adapters::aws::sdk::{aws_config, firehose, kinesis, s3};
use pushfeed::adapters::aws::{AwsPorts, TaskEnv};
use pushfeed::domain::window::{now_ms, Window};
use pushfeed::ports::{Clock, ObjectStore};
use pushfeed::steps::contract::ReadWindowOutput;
use pushfeed::steps::names;
use serde_json::{json, Value};

/// The stage scripts/test synthesizes (`-c stage=dev`).
const STAGE_PREFIX: &str = "dev-";
const REGION: &str = "eu-west-2";
const ACCOUNT: &str = "123456789012";
/// The administrator scripts/moto_iam.py creates, for the setup this test does itself.
const ADMIN_ACCESS_KEY_ID: &str = "AKIAPUSHFEEDTESTADMN";
const ADMIN_SECRET_ACCESS_KEY: &str = "pushfeed-test-admin-secret-access-key";
const ADMIN_ARN: &str = "arn:aws:iam::123456789012:user/pushfeed-test-admin";

fn required_var(name: &str, what: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: this test needs {what}. Run scripts/test, which provides it.")
    })
}

async fn sdk_config(credentials: s3::config::Credentials) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(required_var(
            "PUSHFEED_MOTO_IAM_ENDPOINT",
            "the moto server that enforces IAM (scripts/moto-server.py PORT_FILE --iam)",
        ))
        .credentials_provider(credentials)
        .load()
        .await
}

struct At(i64);
impl Clock for At {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

// ---------------------------------------------------------------------------------------------
// The template, resolved to this test's resources

/// The synthesized dev stack, with this test's names for what it creates.
struct Stack {
    resources: serde_json::Map<String, Value>,
    /// Replaces the stage's `dev-` in physical names; also names the bucket and the roles.
    tag: String,
}

impl Stack {
    fn load() -> Stack {
        let path = required_var(
            "PUSHFEED_CDK_TEMPLATE",
            "the synthesized dev stack (cdk synth -c stage=dev)",
        );
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read the template {path}: {e}"));
        let template: Value = serde_json::from_str(&text).unwrap();
        let resources = template["Resources"].as_object().unwrap().clone();
        // Short and lowercase: it ends up in bucket names (at most 63 characters).
        let unique = conformance::unique("lp").replace('-', "");
        Stack {
            resources,
            tag: format!("lp{}", &unique[unique.len().saturating_sub(12)..]),
        }
    }

    fn resource(&self, id: &str) -> &Value {
        self.resources
            .get(id)
            .unwrap_or_else(|| panic!("the template has no resource {id}"))
    }

    fn kind(&self, id: &str) -> &str {
        self.resource(id)["Type"].as_str().unwrap()
    }

    /// A stage name as this test deploys it: `dev-x` becomes `<tag>-x`.
    fn rename(&self, name: &str) -> String {
        match name.strip_prefix(STAGE_PREFIX) {
            Some(rest) => format!("{}-{rest}", self.tag),
            None => name.to_string(),
        }
    }

    /// The physical name of a resource: its name property, renamed, or one this test gives.
    fn name(&self, id: &str) -> String {
        let props = &self.resource(id)["Properties"];
        let given = [
            "Name",
            "DeliveryStreamName",
            "WorkgroupName",
            "LogGroupName",
        ]
        .iter()
        .find_map(|p| props[*p].as_str());
        match given {
            Some(n) => self.rename(n),
            None => format!("{}-{}", self.tag, id.to_ascii_lowercase())
                .chars()
                .take(63)
                .collect(),
        }
    }

    fn arn(&self, id: &str) -> String {
        let name = self.name(id);
        match self.kind(id) {
            "AWS::S3::Bucket" => format!("arn:aws:s3:::{name}"),
            "AWS::Kinesis::Stream" => format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"),
            "AWS::KinesisFirehose::DeliveryStream" => {
                format!("arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{name}")
            }
            "AWS::IAM::Role" => format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
            "AWS::Logs::LogGroup" => format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"),
            "AWS::SecretsManager::Secret" => {
                format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf")
            }
            "AWS::SNS::Topic" => format!("arn:aws:sns:{REGION}:{ACCOUNT}:{name}"),
            // AWS ends a workgroup's ARN in its id; moto has no Redshift Serverless to give one,
            // so scripts/moto_iam.py names a workgroup by its name, and so does this.
            "AWS::RedshiftServerless::Workgroup" => {
                format!("arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:workgroup/{name}")
            }
            other => panic!("the test does not know the ARN of {other} {id}"),
        }
    }

    fn reference(&self, id: &str) -> String {
        match id {
            "AWS::AccountId" => ACCOUNT.into(),
            "AWS::Region" => REGION.into(),
            "AWS::Partition" => "aws".into(),
            "AWS::URLSuffix" => "amazonaws.com".into(),
            "AWS::StackName" => format!("pushfeed-{}", self.tag),
            _ => match self.kind(id) {
                // Ref of a secret or a topic is its ARN; of the others, their name.
                "AWS::SecretsManager::Secret" | "AWS::SNS::Topic" => self.arn(id),
                _ => self.name(id),
            },
        }
    }

    fn attribute(&self, id: &str, attribute: &str) -> String {
        match (self.kind(id), attribute) {
            (_, "Arn") | ("AWS::RedshiftServerless::Workgroup", "Workgroup.WorkgroupArn") => {
                self.arn(id)
            }
            ("AWS::RedshiftServerless::Workgroup", "Workgroup.WorkgroupName") => self.name(id),
            (kind, _) => panic!("the test does not know Fn::GetAtt {attribute} of {kind} {id}"),
        }
    }

    /// Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub and Fn::Select; renames stage names in
    /// plain strings. Any other intrinsic fails the test, naming it.
    fn resolve(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.rename(s)),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.resolve(i)).collect()),
            Value::Object(map)
                if map.len() == 1
                    && (map.contains_key("Ref")
                        || map.keys().next().unwrap().starts_with("Fn::")) =>
            {
                let (name, arg) = map.iter().next().unwrap();
                Value::String(match name.as_str() {
                    "Ref" => self.reference(arg.as_str().unwrap()),
                    "Fn::GetAtt" => {
                        let parts: Vec<String> = match arg {
                            Value::String(s) => s.splitn(2, '.').map(String::from).collect(),
                            _ => arg
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|p| p.as_str().unwrap().to_string())
                                .collect(),
                        };
                        self.attribute(&parts[0], &parts[1])
                    }
                    "Fn::Join" => {
                        let sep = arg[0].as_str().unwrap();
                        let parts = self.resolve(&arg[1]);
                        parts
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|p| p.as_str().unwrap().to_string())
                            .collect::<Vec<_>>()
                            .join(sep)
                    }
                    "Fn::Select" => {
                        let i = arg[0].as_u64().unwrap() as usize;
                        return self.resolve(&arg[1])[i].clone();
                    }
                    "Fn::Sub" => {
                        let (text, vars) = match arg {
                            Value::String(s) => (s.as_str(), serde_json::Map::new()),
                            _ => (
                                arg[0].as_str().unwrap(),
                                arg[1].as_object().unwrap().clone(),
                            ),
                        };
                        self.substitute(text, &vars)
                    }
                    other => panic!("the test does not resolve the intrinsic {other}: {v}"),
                })
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.resolve(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn substitute(&self, text: &str, vars: &serde_json::Map<String, Value>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let end = rest[at..].find('}').expect("a closed ${...}") + at;
            let name = &rest[at + 2..end];
            out.push_str(&match vars.get(name) {
                Some(v) => self.resolve(v).as_str().unwrap().to_string(),
                None => match name.split_once('.') {
                    Some((id, attr)) => self.attribute(id, attr),
                    None => self.reference(name),
                },
            });
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        self.rename(&out)
    }

    fn ids_of(&self, kind: &str) -> Vec<String> {
        self.resources
            .iter()
            .filter(|(_, r)| r["Type"] == kind)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The Lambda function of a task, by its physical name `dev-pushfeed-<task>`.
    fn function(&self, task: &str) -> String {
        let name = format!("{STAGE_PREFIX}pushfeed-{task}");
        self.ids_of("AWS::Lambda::Function")
            .into_iter()
            .find(|id| self.resource(id)["Properties"]["FunctionName"] == name.as_str())
            .unwrap_or_else(|| panic!("the template has no function {name}"))
    }

    /// The task's environment, resolved.
    fn environment(&self, task: &str) -> BTreeMap<String, String> {
        let f = self.resource(&self.function(task));
        let vars = self.resolve(&f["Properties"]["Environment"]["Variables"]);
        vars.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect()
    }

    /// Every policy document attached to the task's role, resolved.
    fn policies(&self, task: &str) -> Vec<Value> {
        let f = self.resource(&self.function(task));
        let role = f["Properties"]["Role"]["Fn::GetAtt"][0]
            .as_str()
            .expect("the function's role is a role of the stack")
            .to_string();
        let props = &self.resource(&role)["Properties"];
        assert!(
            props.get("ManagedPolicyArns").is_none() && props.get("PermissionsBoundary").is_none(),
            "role {role} has managed policies or a boundary, which this test does not model"
        );
        let mut docs: Vec<Value> = props["Policies"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| self.resolve(&p["PolicyDocument"]))
            .collect();
        for id in self.ids_of("AWS::IAM::Policy") {
            let p = &self.resource(&id)["Properties"];
            let attached = p["Roles"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| r["Ref"] == role.as_str());
            if attached {
                docs.push(self.resolve(&p["PolicyDocument"]));
            }
        }
        assert!(!docs.is_empty(), "role {role} has no policy");
        docs
    }
}

/// The policy documents without one action; panics if no statement grants it.
fn without_action(docs: &[Value], action: &str) -> Vec<Value> {
    let mut found = false;
    let docs = docs
        .iter()
        .map(|doc| {
            let mut doc = doc.clone();
            let statements = doc["Statement"].as_array_mut().unwrap();
            for st in statements.iter_mut() {
                let actions: Vec<Value> = match &st["Action"] {
                    Value::String(a) => vec![Value::String(a.clone())],
                    Value::Array(a) => a.clone(),
                    _ => continue,
                };
                let kept: Vec<Value> = actions.iter().filter(|a| *a != action).cloned().collect();
                found |= kept.len() < actions.len();
                st["Action"] = Value::Array(kept);
            }
            statements.retain(|st| st["Action"].as_array().is_none_or(|a| !a.is_empty()));
            doc
        })
        .collect();
    assert!(found, "no statement of the policy grants {action}");
    docs
}

// ---------------------------------------------------------------------------------------------
// The deployment in moto

/// The stack's resources that the tasks touch, created in moto by the administrator.
struct Deployment {
    stack: Stack,
    admin: aws_config::SdkConfig,
    bucket: String,
    window: Window,
    /// How many records were put into the window.
    records: u64,
    roles: std::sync::atomic::AtomicU32,
}

impl Deployment {
    async fn create() -> Deployment {
        let stack = Stack::load();
        let admin = sdk_config(s3::config::Credentials::new(
            ADMIN_ACCESS_KEY_ID,
            ADMIN_SECRET_ACCESS_KEY,
            None,
            None,
            "moto-admin",
        ))
        .await;
        let bucket_id = stack
            .ids_of("AWS::S3::Bucket")
            .into_iter()
            .find(|id| id.starts_with("StorageBucket"))
            .expect("the template has the data bucket");
        let bucket = stack.name(&bucket_id);
        s3_client(&admin)
            .create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(s3::types::BucketLocationConstraint::from(REGION))
                    .build(),
            )
            .send()
            .await
            .unwrap();

        let kc = kinesis::Client::new(&admin);
        let stream_id = stack.ids_of("AWS::Kinesis::Stream").remove(0);
        let stream = stack.name(&stream_id);
        kc.create_stream()
            .stream_name(&stream)
            .shard_count(2)
            .send()
            .await
            .unwrap();
        // The known events, dated yesterday so that they are neither future nor ancient against
        // moto's arrival times (now), all put within one minute.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let yesterday = &pushfeed::domain::window::format_timestamp_ms(now_ms() - 86_400_000)[..10];
        let text = std::fs::read_to_string(root.join("tests/fixtures/known-events.ndjson"))
            .unwrap()
            .replace("2026-11-26T", &format!("{yesterday}T"));
        if now_ms() % 60_000 > 45_000 {
            tokio::time::sleep(std::time::Duration::from_millis(
                60_500 - (now_ms() % 60_000) as u64,
            ))
            .await;
        }
        let window = Window::containing(now_ms());
        let mut records = 0;
        for (i, line) in text.lines().enumerate() {
            kc.put_record()
                .stream_name(&stream)
                .partition_key(format!("pk-{i}"))
                .data(kinesis::primitives::Blob::new(line.as_bytes().to_vec()))
                .send()
                .await
                .unwrap();
            records += 1;
        }
        assert_eq!(
            Window::containing(now_ms()),
            window,
            "the puts crossed a minute"
        );
        Deployment {
            stack,
            admin,
            bucket,
            window,
            records,
            roles: Default::default(),
        }
    }

    /// Creates a role holding `policies`, assumes it, and builds the task's adapters from the
    /// task's environment in the template, on the role's credentials.
    async fn ports_under(&self, task: &str, policies: &[Value]) -> AwsPorts {
        let n = self
            .roles
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let role = format!("{}-{task}-{n}", self.stack.tag);
        let iam = aws_sdk_iam::Client::new(&self.admin);
        // The template's trust policy names lambda.amazonaws.com; here the administrator stands
        // in for Lambda and assumes the role itself.
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": ADMIN_ARN}, "Action": "sts:AssumeRole"}]});
        iam.create_role()
            .role_name(&role)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap();
        for (i, doc) in policies.iter().enumerate() {
            iam.put_role_policy()
                .role_name(&role)
                .policy_name(format!("policy-{i}"))
                .policy_document(doc.to_string())
                .send()
                .await
                .unwrap();
        }
        let assumed = aws_sdk_sts::Client::new(&self.admin)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/{role}"))
            .role_session_name(task)
            .send()
            .await
            .unwrap();
        let c = assumed.credentials.unwrap();
        let sdk = sdk_config(s3::config::Credentials::new(
            c.access_key_id,
            c.secret_access_key,
            Some(c.session_token),
            None,
            "assumed-role",
        ))
        .await;
        let env = self.stack.environment(task);
        let env = TaskEnv::from_lookup(|k| env.get(k).cloned()).unwrap();
        AwsPorts::build(env, &sdk).unwrap()
    }

    async fn ports(&self, task: &str) -> AwsPorts {
        self.ports_under(task, &self.stack.policies(task)).await
    }

    async fn read_window(&self, ports: &AwsPorts, window: Window) -> Result<Value, TaskFailure> {
        let clock = At(window.end_ms() + ports.settings.settle_ms + 1);
        lambda::read_window(
            &*ports.stream().unwrap(),
            &*ports.store().unwrap(),
            &clock,
            &ports.settings,
            json!({"window": window, "execution": "least-privilege"}),
        )
        .await
    }

    fn admin_store(&self) -> pushfeed::adapters::aws::S3ObjectStore {
        pushfeed::adapters::aws::S3ObjectStore::new(s3_client(&self.admin), &self.bucket)
    }

    /// Firehose's part, which moto does not do: its dynamic partitioning and GZIP. moto's
    /// Firehose writes each batch under the template's prefix with the partition key left
    /// literal; this moves them to `events/T/window=W/`, compressed, as Firehose would.
    async fn partition_delivered(&self, read: &ReadWindowOutput) {
        let store = self.admin_store();
        for r in &read.routes {
            let landed = format!(
                "events/{}/window=!{{partitionKeyFromQuery:window}}/",
                r.event_type
            );
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let objects = store.list(&landed).await.unwrap();
            assert!(
                !objects.is_empty(),
                "moto's Firehose wrote nothing under {landed}"
            );
            for o in objects {
                gz.write_all(&store.get(&o.key).await.unwrap()).unwrap();
            }
            let key = format!(
                "events/{}/window={}/{}{}-1-lp.ndjson.gz",
                r.event_type, read.window, self.stack.tag, r.delivery_stream
            );
            store.put(&key, gz.finish().unwrap()).await.unwrap();
        }
    }
}

impl Deployment {
    /// The route's delivery streams, with the template's S3 destination.
    async fn create_delivery_streams(&self) {
        for id in self.stack.ids_of("AWS::KinesisFirehose::DeliveryStream") {
            let props = &self.stack.resource(&id)["Properties"];
            let dest = self
                .stack
                .resolve(&props["ExtendedS3DestinationConfiguration"]["BucketARN"]);
            let dest = json!({
                "BucketARN": dest,
                "RoleARN": self.stack.resolve(&props["ExtendedS3DestinationConfiguration"]["RoleARN"]),
                "Prefix": self.stack.resolve(&props["ExtendedS3DestinationConfiguration"]["Prefix"]),
            });
            firehose::Client::new(&self.admin)
                .create_delivery_stream()
                .delivery_stream_name(self.stack.name(&id))
                .extended_s3_destination_configuration(
                    firehose::types::ExtendedS3DestinationConfiguration::builder()
                        .bucket_arn(dest["BucketARN"].as_str().unwrap())
                        .role_arn(dest["RoleARN"].as_str().unwrap())
                        .prefix(dest["Prefix"].as_str().unwrap())
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
    }

    /// moto allows 50 delivery streams per region: each test removes its own.
    async fn delete_delivery_streams(&self) {
        let client = firehose::Client::new(&self.admin);
        for id in self.stack.ids_of("AWS::KinesisFirehose::DeliveryStream") {
            let _ = client
                .delete_delivery_stream()
                .delivery_stream_name(self.stack.name(&id))
                .send()
                .await;
        }
    }
}

/// Runs `body` on a new deployment, and removes the deployment's delivery streams after it,
/// whether it passed or not.
async fn with_deployment<F, Fut>(body: F)
where
    F: FnOnce(Arc<Deployment>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let d = Arc::new(Deployment::create().await);
    let outcome = tokio::spawn(body(d.clone())).await;
    d.delete_delivery_streams().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn branches(read: &ReadWindowOutput) -> Vec<Value> {
    read.routes
        .iter()
        .map(|r| {
            json!({
                "window": read.window, "batch": read.batch, "event_type": r.event_type,
                "table": r.table, "delivery_stream": r.delivery_stream,
                "staging_key": r.staging_key, "count": r.count, "execution": read.execution,
            })
        })
        .collect()
}

/// S3's `AccessDenied`, or the JSON services' `AccessDeniedException`.
fn denied(f: &TaskFailure) -> bool {
    f.error_message.contains("AccessDenied: Access Denied")
        || f.error_message.contains("AccessDeniedException: User: ")
}

// ---------------------------------------------------------------------------------------------
// The tests

/// The actions each task's code calls (each is taken out in turn below).
const CALLED: &[(&str, &str)] = &[
    ("read-window", "kinesis:ListShards"),
    ("read-window", "kinesis:GetShardIterator"),
    ("read-window", "kinesis:GetRecords"),
    ("read-window", "s3:ListBucket"),
    ("read-window", "s3:GetObject"),
    ("read-window", "s3:PutObject"),
    ("deliver", "s3:GetObject"),
    ("deliver", "firehose:PutRecordBatch"),
    ("await-objects", "s3:ListBucket"),
    ("await-objects", "s3:GetObject"),
    ("load", "s3:ListBucket"),
    ("load", "s3:GetObject"),
    ("load", "s3:PutObject"),
    ("load", "redshift-data:BatchExecuteStatement"),
    ("load", "redshift-data:DescribeStatement"),
];

/// Actions the roles grant that the task's code does not call, and why they are there
/// (`*`: every task).
const NOT_CALLED: &[(&str, &str, &str)] = &[
    (
        "*",
        "logs:CreateLogStream",
        "Lambda writes the function's logs with its role",
    ),
    (
        "*",
        "logs:PutLogEvents",
        "Lambda writes the function's logs with its role",
    ),
    (
        "*",
        "xray:PutTraceSegments",
        "Lambda's active tracing sends the traces",
    ),
    (
        "*",
        "xray:PutTelemetryRecords",
        "Lambda's active tracing sends the traces",
    ),
    (
        "load",
        "redshift-data:CancelStatement",
        "called only when a statement outlives the step's deadline (tests/aws_mocks.rs)",
    ),
    (
        "load",
        "secretsmanager:GetSecretValue",
        "the Data API reads the secret with the caller's credentials",
    ),
    (
        "load",
        "secretsmanager:DescribeSecret",
        "the Data API reads the secret with the caller's credentials",
    ),
];

const TASKS: [&str; 4] = ["read-window", "deliver", "await-objects", "load"];

/// Every action a role grants is one its task calls (and so is tested) or one listed with its
/// reason: a new grant, or a new call, has to be added to one of the two tables.
#[test]
fn every_granted_action_is_called_or_explained() {
    let stack = Stack::load();
    for task in TASKS {
        let mut granted = std::collections::BTreeSet::new();
        for doc in stack.policies(task) {
            for st in doc["Statement"].as_array().unwrap() {
                assert_eq!(st["Effect"], "Allow", "{task}: {st}");
                let actions: Vec<&Value> = match &st["Action"] {
                    v @ Value::String(_) => vec![v],
                    v => v.as_array().unwrap().iter().collect(),
                };
                granted.extend(actions.iter().map(|a| a.as_str().unwrap().to_string()));
            }
        }
        let known: std::collections::BTreeSet<String> = CALLED
            .iter()
            .filter(|(t, _)| *t == task)
            .map(|(_, a)| a.to_string())
            .chain(
                NOT_CALLED
                    .iter()
                    .filter(|(t, _, _)| *t == "*" || *t == task)
                    .map(|(_, a, _)| a.to_string()),
            )
            .collect();
        assert_eq!(granted, known, "{task}: the actions its role grants");
    }
}

/// A window's first run looks up a checkpoint that does not exist; under the read-window role,
/// whose s3:ListBucket holds only for its prefixes, S3 answers such a GetObject with 403.
#[tokio::test]
async fn read_window_first_run_and_re_run_pass_under_its_role() {
    with_deployment(|d| async move {
        let ports = d.ports("read-window").await;
        let first = d.read_window(&ports, d.window).await.unwrap_or_else(|f| {
            panic!(
                "the first run of window {} failed under the read-window role: {f:?}",
                d.window
            )
        });
        let first: ReadWindowOutput = serde_json::from_value(first).unwrap();
        assert_eq!(first.read.records, d.records, "{first:?}");
        assert_eq!(first.read.source, "stream");
        let again: ReadWindowOutput =
            serde_json::from_value(d.read_window(&ports, d.window).await.unwrap()).unwrap();
        assert_eq!(again.read.source, "checkpoint");
        assert_eq!(again.read.records, d.records);
    })
    .await;
}

/// Every task, in the state machine's order, each under its own role: ReadWindow (Kinesis, S3),
/// Deliver (S3, Firehose), AwaitObjects (S3) and Load (S3, the Redshift Data API).
#[tokio::test]
async fn every_task_runs_under_its_role() {
    with_deployment(|d| async move {
        d.create_delivery_streams().await;
        let read = d.ports("read-window").await;
        let read: ReadWindowOutput =
            serde_json::from_value(d.read_window(&read, d.window).await.unwrap()).unwrap();
        assert!(!read.routes.is_empty(), "{read:?}");

        let deliver = d.ports("deliver").await;
        for b in branches(&read) {
            let out = lambda::deliver(
                &*deliver.store().unwrap(),
                &*deliver.delivery(),
                &deliver.settings,
                b.clone(),
            )
            .await
            .unwrap_or_else(|f| panic!("Deliver failed under its role: {f:?}"));
            assert_eq!(out["delivered"], b["count"], "{out}");
        }
        d.partition_delivered(&read).await;

        let waiting = d.ports("await-objects").await;
        for b in branches(&read) {
            let out = lambda::await_objects(&*waiting.store().unwrap(), &waiting.settings, b)
                .await
                .unwrap_or_else(|f| panic!("AwaitObjects failed under its role: {f:?}"));
            assert_eq!(out["complete"], true, "{out}");
        }

        let load = d.ports("load").await;
        let warehouse = load.warehouse().unwrap();
        for b in branches(&read) {
            let out = lambda::load(&*load.store().unwrap(), &*warehouse, &load.settings, b)
                .await
                .unwrap_or_else(|f| panic!("Load failed under its role: {f:?}"));
            let manifest = d
                .admin_store()
                .get(out["manifest_key"].as_str().unwrap())
                .await
                .unwrap();
            let manifest: Value = serde_json::from_slice(&manifest).unwrap();
            assert_eq!(
                manifest["entries"].as_array().unwrap().len(),
                1,
                "{manifest}"
            );
        }
    })
    .await;
}

/// The test has teeth: each action a task calls, taken out of its role's policy, fails the
/// task with S3's or IAM's denial.
#[tokio::test]
async fn a_policy_without_an_action_the_task_calls_fails_the_task() {
    with_deployment(|d| async move {
        d.create_delivery_streams().await;
        let read: ReadWindowOutput = serde_json::from_value(
            d.read_window(&d.ports("read-window").await, d.window)
                .await
                .unwrap(),
        )
        .unwrap();
        let deliver = d.ports("deliver").await;
        for b in branches(&read) {
            lambda::deliver(
                &*deliver.store().unwrap(),
                &*deliver.delivery(),
                &deliver.settings,
                b,
            )
            .await
            .unwrap();
        }
        d.partition_delivered(&read).await;
        let branch = branches(&read).remove(0);

        for (k, (task, action)) in CALLED.iter().enumerate() {
            let policies = without_action(&d.stack.policies(task), action);
            let ports = d.ports_under(task, &policies).await;
            let failure = match *task {
                // A first run of a window of its own (no checkpoint: ListShards, AT_TIMESTAMP) and a
                // re-run of the read window (its checkpoint, AT_SEQUENCE_NUMBER).
                "read-window" => {
                    let fresh = Window::containing(d.window.start_ms() - 60_000 * (k as i64 + 1));
                    match d.read_window(&ports, fresh).await {
                        Err(f) => Some(f),
                        Ok(_) => d.read_window(&ports, d.window).await.err(),
                    }
                }
                "deliver" => lambda::deliver(
                    &*ports.store().unwrap(),
                    &*ports.delivery(),
                    &ports.settings,
                    branch.clone(),
                )
                .await
                .err(),
                "await-objects" => {
                    lambda::await_objects(&*ports.store().unwrap(), &ports.settings, branch.clone())
                        .await
                        .err()
                }
                _ => lambda::load(
                    &*ports.store().unwrap(),
                    &*ports.warehouse().unwrap(),
                    &ports.settings,
                    branch.clone(),
                )
                .await
                .err(),
            };
            let failure = failure.unwrap_or_else(|| {
                panic!(
                "{task} passed with {action} taken out of its policy: the test has no teeth there"
            )
            });
            // A refusal is permanent: the state machine must not retry it.
            assert!(
                denied(&failure) && failure.error_type != names::TRANSIENT,
                "{task} without {action}: {failure:?}"
            );
        }
    })
    .await;
}
