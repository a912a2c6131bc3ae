"""IAM enforcement for the second moto server (`scripts/moto-server.py PORT_FILE --iam`).

moto checks IAM only loosely (its own docstring in moto/iam/access_control.py lists what it
lacks): it ignores every Condition operator but StringEquals, treats an Allow whose condition
fails as a Deny, authorizes Kinesis, Firehose and the Redshift Data API against the resource `*`
(so a statement naming a stream or a workgroup never matches), answers 404 for a missing key
whatever the caller may list, and has no BatchExecuteStatement. tests/aws_least_privilege.rs
runs the task roles of the CDK app under it, so this module makes those parts follow AWS:

- `install()` creates one administrator (ADMIN_*, which the test uses to set up) and sets
  INITIAL_NO_AUTH_ACTION_COUNT to 0, so every request after it is authenticated and authorized;
- identity policies are evaluated as IAM does (explicit Deny wins, then an Allow whose Action,
  Resource and Condition all match), with the conditions the task policies use;
- Kinesis, Firehose and Redshift Data API requests are authorized against the ARN they name,
  and refused with a JSON AccessDeniedException, as those services answer;
- GetObject and HeadObject of a missing key answer 403 unless the caller may list the bucket;
- BatchExecuteStatement is accepted, runs no SQL, and finishes at once with 0 rows per statement.

docs/aws.md ("Least privilege") lists what this proves and what stays assumed.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

from moto import settings
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.firehose.responses import FirehoseResponse
from moto.iam import access_control
from moto.iam.models import iam_backends
from moto.kinesis.responses import KinesisResponse
from moto.redshiftdata.responses import RedshiftDataAPIServiceResponse
from moto.s3.exceptions import MissingKey, S3AccessDeniedError
from moto.s3.responses import S3Response

# The administrator the test signs its setup calls with (tests/aws_least_privilege.rs has the same).
ADMIN_USER = "pushfeed-test-admin"
ADMIN_ACCESS_KEY_ID = "AKIAPUSHFEEDTESTADMN"
ADMIN_SECRET_ACCESS_KEY = "pushfeed-test-admin-secret-access-key"


def install() -> None:
    _require()
    iam = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    iam.create_user(region_name="us-east-1", user_name=ADMIN_USER)
    iam.put_user_policy(
        ADMIN_USER,
        "everything",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(ADMIN_USER)
    key.access_key_id = ADMIN_ACCESS_KEY_ID
    key.secret_access_key = ADMIN_SECRET_ACCESS_KEY
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0

    for cls in (access_control.IAMRequest, access_control.S3IAMRequest):
        cls.check_action_permitted = _check_action_permitted
    KinesisResponse._determine_resource = _kinesis_resource
    FirehoseResponse._determine_resource = _firehose_resource
    RedshiftDataAPIServiceResponse._determine_resource = _redshift_data_resource
    RedshiftDataAPIServiceResponse.batch_execute_statement = _batch_execute_statement
    _wrap_missing_key_reads()


def _require() -> None:
    """Fails at start, not in a test, if moto's internals that this patches have moved."""
    for owner, name in [
        (access_control.IAMRequestBase, "check_action_permitted"),
        (access_control.IAMRequestBase, "_is_assuming_role_operation"),
        (access_control.IAMRequestBase, "_check_role_trust_relationship"),
        (S3Response, "get_object"),
        (S3Response, "head_object"),
        (RedshiftDataAPIServiceResponse, "execute_statement"),
    ]:
        if not hasattr(owner, name):
            raise SystemExit(
                f"moto {getattr(sys.modules['moto'], '__version__', '?')} has no "
                f"{owner.__name__}.{name}: scripts/moto_iam.py needs updating for this moto"
            )


# --- policy evaluation ------------------------------------------------------------------------
#
# IAM's policy evaluation logic: "an explicit deny in any of these policies overrides the allow",
# and "by default, all requests are implicitly denied". Only identity policies exist here (the
# roles' inline policies); no resource policy, boundary or SCP.

ALLOW, DENY, NEUTRAL = "allow", "deny", "neutral"


def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    # IAM's `*` matches any run of characters and `?` any one character, in Action, Resource
    # and the *Like condition operators.
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern
    )
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _condition_holds(operator: str, key: str, wanted: Any, context: dict[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    wanted = [str(w) for w in _listed(wanted)]
    if base == "Null":
        return (key not in context) == (wanted[0].lower() == "true")
    if key not in context:
        # IAM: "If the key that you specify in a policy condition is not present in the request
        # context, the values do not match and the condition is false", except with ...IfExists
        # and for the negated operators.
        return if_exists or "Not" in base
    actual = context[key]
    tests = {
        "StringEquals": lambda w: actual == w,
        "StringNotEquals": lambda w: actual != w,
        "StringEqualsIgnoreCase": lambda w: actual.lower() == w.lower(),
        "StringLike": lambda w: _wildcard(w, actual),
        "StringNotLike": lambda w: not _wildcard(w, actual),
        "ArnEquals": lambda w: actual == w,
        "ArnLike": lambda w: _wildcard(w, actual),
    }
    if base not in tests:
        # Not modelled: the statement then never applies, and the server's log says why.
        print(f"moto_iam: condition operator {operator} is not evaluated", file=sys.stderr)
        return False
    if base.startswith("StringNot"):
        return all(tests[base](w) for w in wanted)
    return any(tests[base](w) for w in wanted)


def _statement_applies(st: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    if "Action" in st:
        if not any(_wildcard(a, action, ignore_case=True) for a in _listed(st["Action"])):
            return False
    elif any(_wildcard(a, action, ignore_case=True) for a in _listed(st.get("NotAction", []))):
        return False
    if "Resource" in st:
        if not any(_wildcard(r, resource) for r in _listed(st["Resource"])):
            return False
    elif any(_wildcard(r, resource) for r in _listed(st.get("NotResource", []))):
        return False
    for operator, keys in st.get("Condition", {}).items():
        for key, wanted in keys.items():
            if not _condition_holds(operator, key, wanted, context):
                return False
    return True


def decide(documents: list[dict[str, Any]], action: str, resource: str, context: dict[str, str]) -> str:
    result = NEUTRAL
    for doc in documents:
        for st in _listed(doc.get("Statement", [])):
            if _statement_applies(st, action, resource, context):
                if st.get("Effect") == "Deny":
                    return DENY
                result = ALLOW
    return result


def _documents(request: access_control.IAMRequestBase) -> list[dict[str, Any]]:
    return [
        access_control.IAMPolicy(p)._policy_json
        for p in request._access_key.collect_policies()
    ]


def _request_context(request: access_control.IAMRequestBase) -> dict[str, str]:
    """The condition keys the task policies use, as the request sets them."""
    context: dict[str, str] = {}
    if request._action == "s3:ListBucket":
        # s3:prefix is the ListObjects(V2) `prefix` parameter; absent when the request has none.
        prefix = parse_qs(urlparse(request._path).query, keep_blank_values=True).get("prefix")
        if prefix is not None:
            context["s3:prefix"] = prefix[0]
    return context


# Signing names of the services here whose protocol is JSON (awsJson1_1 or restJson).
JSON_PROTOCOL_SERVICES = {"kinesis", "firehose", "redshift-data"}


def _check_action_permitted(self: access_control.IAMRequestBase, resource: str) -> None:
    if self._action == "sts:GetCallerIdentity":
        return
    if decide(_documents(self), self._action, resource, _request_context(self)) != ALLOW:
        message = f"User: {self._access_key.arn} is not authorized to perform: {self._action} on resource: {resource}"
        print(f"moto_iam: {message}", file=sys.stderr)
        if self._service in JSON_PROTOCOL_SERVICES:
            # These answer in JSON, as AWS does (moto's own denial is IAM's XML, which their
            # SDKs cannot parse and would retry as a broken response).
            raise JsonRESTError("AccessDeniedException", message)
        self._raise_access_denied()
    # sts:AssumeRole also needs the role's trust policy to name the caller (moto checks that).
    if self._is_assuming_role_operation(resource) and not self._check_role_trust_relationship(resource):
        self._raise_access_denied()


# --- the resource a request acts on -----------------------------------------------------------


def _kinesis_resource(self: KinesisResponse) -> str:
    params = json.loads(self.body or "{}")
    if params.get("StreamARN"):
        return params["StreamARN"]
    name = params.get("StreamName")
    if not name and params.get("ShardIterator"):
        # GetRecords names only an iterator; moto's is base64 of "<stream>:<shard>:<sequence>".
        name = base64.decodebytes(params["ShardIterator"].encode()).decode().split(":")[0]
    if not name:
        return "*"
    return f"arn:aws:kinesis:{self.region}:{self.current_account}:stream/{name}"


def _firehose_resource(self: FirehoseResponse) -> str:
    name = json.loads(self.body or "{}").get("DeliveryStreamName")
    if not name:
        return "*"
    return f"arn:aws:firehose:{self.region}:{self.current_account}:deliverystream/{name}"


def _redshift_data_resource(self: RedshiftDataAPIServiceResponse) -> str:
    # The Service Authorization Reference gives ExecuteStatement and BatchExecuteStatement the
    # cluster or workgroup as resource; DescribeStatement, GetStatementResult and CancelStatement
    # take none (`*`). A workgroup's ARN ends in its id; moto has no Redshift Serverless to give
    # one, so here it ends in the workgroup's name (the test resolves the template the same way).
    params = json.loads(self.body or "{}")
    if params.get("WorkgroupName"):
        return (
            f"arn:aws:redshift-serverless:{self.region}:{self.current_account}"
            f":workgroup/{params['WorkgroupName']}"
        )
    if params.get("ClusterIdentifier"):
        return f"arn:aws:redshift:{self.region}:{self.current_account}:cluster:{params['ClusterIdentifier']}"
    return "*"


# --- 403 for a missing key without s3:ListBucket ----------------------------------------------
#
# AWS's GetObject and HeadObject references: "If the object you request doesn't exist, the error
# that Amazon S3 returns depends on whether you also have the s3:ListBucket permission. If you
# have the s3:ListBucket permission on the bucket, Amazon S3 returns an HTTP status code 404 Not
# Found error. If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status
# code 403 Access Denied error." The read carries no s3:prefix, so a ListBucket granted only
# under an s3:prefix condition does not count.


def _may_list(response: S3Response, bucket: str) -> bool:
    if "Authorization" not in response.headers:
        return True
    request = access_control.S3IAMRequest(
        account_id=response.current_account,
        method=response.method,
        path=response.raw_path,
        data=response.data,
        body=response.raw_body,
        headers=response.headers,
        action="ListBucket",
    )
    return decide(_documents(request), "s3:ListBucket", f"arn:aws:s3:::{bucket}", {}) == ALLOW


def _wrap_missing_key_reads() -> None:
    get_object = S3Response.get_object
    head_object = S3Response.head_object

    def get_object_or_403(self: S3Response) -> Any:
        try:
            return get_object(self)
        except MissingKey:
            if not _may_list(self, self.bucket_name):
                raise S3AccessDeniedError()
            raise

    def head_object_or_403(self: S3Response, bucket_name: str, query: Any, key_name: str, headers: Any) -> Any:
        status, response_headers, body = head_object(self, bucket_name, query, key_name, headers)
        if status == 404 and not _may_list(self, bucket_name):
            return 403, {}, ""
        return status, response_headers, body

    S3Response.get_object = get_object_or_403
    S3Response.head_object = head_object_or_403


# --- BatchExecuteStatement --------------------------------------------------------------------


def _batch_execute_statement(self: RedshiftDataAPIServiceResponse) -> Any:
    sqls = self._get_param("Sqls") or []
    statement = self.redshiftdata_backend.execute_statement(
        cluster_identifier=self._get_param("ClusterIdentifier"),
        database=self._get_param("Database"),
        db_user=self._get_param("DbUser"),
        parameters=None,
        secret_arn=self._get_param("SecretArn"),
        sql=";\n".join(sqls),
    )
    # Epoch seconds: the SDKs read the Data API's timestamps as JSON numbers.
    now = time.time()
    statement.created_at = statement.updated_at = now
    statement.status = "FINISHED"
    statement.sub_statements = [
        {
            "Id": f"{statement.id}:{n}",
            "QueryString": sql,
            "Status": "FINISHED",
            "ResultRows": 0,
            "HasResultSet": False,
            "CreatedAt": now,
            "UpdatedAt": now,
            "Duration": 0,
        }
        for n, sql in enumerate(sqls, start=1)
    ]
    return 200, {}, json.dumps(
        {
            "Id": statement.id,
            "CreatedAt": now,
            "Database": statement.database,
            "WorkgroupName": self._get_param("WorkgroupName"),
            "ClusterIdentifier": statement.cluster_identifier,
            "SecretArn": statement.secret_arn,
        }
    )
