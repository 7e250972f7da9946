"""Who called: a stable name for the IAM principal that signed a request, from the door's request context.

Both doors authenticate with IAM and hand the function the verified principal in the event's request context:

- a function URL (payload format 2.0): ``requestContext.authorizer.iam`` with ``accountId``, ``callerId``,
  ``userArn`` and ``userId`` (Lambda Developer Guide, "Lambda function URLs: request payload"); its
  ``requestContext.accountId`` is the function owner's account;
- a REST API Lambda proxy integration (payload format 1.0): ``requestContext.identity`` with ``accountId``,
  ``caller`` and ``userArn`` (API Gateway Developer Guide, "Input format of a Lambda function for proxy
  integration"); its ``requestContext.accountId`` is the API owner's account;
- behind the Lambda Web Adapter the same request context arrives as JSON in the ``x-amzn-request-context``
  header (aws-lambda-web-adapter README, "Request context").

The name is what a platform team bills and reads dashboards by, so it is stable across sessions and bounded:

- ``role/NAME`` for an assumed role, ``arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`` (IAM User Guide, "IAM
  identifiers": the session name is the caller's choice, one per login or per Lambda invocation, so it never
  goes into the name);
- ``user/NAME`` for an IAM user (the ARN's path is dropped: a user's name is unique in its account);
- ``federated-user/NAME`` for GetFederationToken sessions;
- ``account/ID`` for the account's root user, for any principal of another account (the owner of the door
  decides who may call from there; the other account names its own principals), and for any ARN form not listed;
- ``unverified`` (``contract.UNVERIFIED_CALLER``) when no IAM principal came with the request: a door without IAM
  auth, or ``mistral-invoke serve`` on a laptop. The proxy never invents one.

Standard library only: this runs on every request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .contract import UNVERIFIED_CALLER

__all__ = ["UNVERIFIED_CALLER", "caller_name"]

# arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE (IAM and STS ARNs have an empty region).
_ARN = re.compile(r"^arn:[\w-]+:(?:iam|sts)::(\d{12}):(.+)$")
# IAM names: letters, digits and +=,.@_- (IAM User Guide, "IAM and AWS STS quotas", name requirements).
_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")
_ACCOUNT = re.compile(r"^\d{12}$")


def caller_name(request_context: Mapping[str, Any] | None) -> str:
    """The stable name of the principal a door's request context carries, or ``unverified``."""
    if not isinstance(request_context, Mapping):
        return UNVERIFIED_CALLER
    principal = _principal(request_context)
    if principal is None:
        return UNVERIFIED_CALLER
    user_arn, caller_account = principal
    match = _ARN.match(user_arn)
    if match is None:
        return _account(caller_account)
    arn_account, resource = match.groups()
    owner = request_context.get("accountId")
    if _ACCOUNT.match(str(owner or "")) and arn_account != owner:
        return _account(arn_account)  # another account's principal: named by its account
    return _resource_name(resource) or _account(arn_account)


def _principal(context: Mapping[str, Any]) -> tuple[str, str] | None:
    """(userArn, accountId) from a function URL's IAM authorizer or a REST API's identity; None without one."""
    authorizer = context.get("authorizer")
    iam = authorizer.get("iam") if isinstance(authorizer, Mapping) else None
    for source in (iam, context.get("identity")):
        if isinstance(source, Mapping) and isinstance(source.get("userArn"), str) and source["userArn"]:
            return source["userArn"], str(source.get("accountId") or "")
    return None


def _resource_name(resource: str) -> str | None:
    """``role/NAME``, ``user/NAME`` or ``federated-user/NAME`` from an IAM/STS ARN's resource; None for root and
    any other form."""
    kind, _, rest = resource.partition("/")
    parts = rest.split("/")
    if kind == "assumed-role" and len(parts) >= 2:
        name, label = parts[0], "role"
    elif kind == "user" and rest:
        name, label = parts[-1], "user"  # user/PATH/NAME: the path is not part of the identity
    elif kind == "federated-user" and rest:
        name, label = parts[-1], "federated-user"
    else:
        return None
    return f"{label}/{name}" if _NAME.match(name) else None


def _account(account: str) -> str:
    return f"account/{account}" if _ACCOUNT.match(account) else UNVERIFIED_CALLER
