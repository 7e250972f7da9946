"""A role whose grants land in a customer-managed policy instead of an inline one.

``iam.Role`` puts every grant (``bucket.grant_read(fn)``, ``fn.add_to_role_policy``) in an inline default
policy, which the HIPAA Security and NIST 800-53 packs reject; ``Role.from_role_arn(..., mutable=False)``
avoids that by silently dropping every grant. This view of a role sends each statement to the construct's
own ``iam.ManagedPolicy``, attached to the role, so grants work and stay customer-managed.

Handed to ``lambda.Function`` as its role, it also keeps the function's template free of a ``DependsOn`` on
the role: the view holds no CloudFormation resource, and the function already references the role's ARN.
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import Resource
from aws_cdk import aws_iam as iam
from constructs import Construct


@jsii.implements(iam.IRole)
class ManagedPolicyRole(Resource):
    """``role`` as seen by the resources that use it: every statement added goes to ``policy``."""

    def __init__(self, scope: Construct, id: str, *, role: iam.IRole, policy: iam.ManagedPolicy) -> None:
        super().__init__(scope, id)
        self._role = role
        self._policy = policy

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        self._policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self._policy)

    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        return self.add_to_principal_policy(statement).statement_added

    @property
    def grant_principal(self) -> iam.IPrincipal:
        return self

    @property
    def role_arn(self) -> str:
        return self._role.role_arn

    @property
    def role_name(self) -> str:
        return self._role.role_name

    @property
    def role_ref(self) -> Any:
        return self._role.role_ref

    @property
    def assume_role_action(self) -> str:
        return self._role.assume_role_action

    @property
    def policy_fragment(self) -> iam.PrincipalPolicyFragment:
        return self._role.policy_fragment

    @property
    def principal_account(self) -> str | None:
        return self._role.principal_account

    def add_managed_policy(self, policy: iam.IManagedPolicy) -> None:
        self._role.add_managed_policy(policy)

    def attach_inline_policy(self, policy: iam.Policy) -> None:
        self._role.attach_inline_policy(policy)

    def grant(self, grantee: iam.IPrincipal, *actions: str) -> iam.Grant:
        return self._role.grant(grantee, *actions)

    def grant_pass_role(self, grantee: iam.IPrincipal) -> iam.Grant:
        return self._role.grant_pass_role(grantee)

    def grant_assume_role(self, grantee: iam.IPrincipal) -> iam.Grant:
        return self._role.grant_assume_role(grantee)
