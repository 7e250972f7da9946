"""MistralEndpointStack: the deployable app around the MistralEndpoint construct."""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Stack
from constructs import Construct

from mistral_endpoint import MistralEndpoint
from mistral_endpoint._lambda import contract

from .config import StackConfig


class MistralEndpointStack(Stack):
    """Mistral 7B on SageMaker, in an isolated VPC, behind an IAM-authenticated function URL, a private REST API
    (``-c frontDoor=private``), or both."""

    def __init__(self, scope: Construct, id: str, *, config: StackConfig, **kwargs: object) -> None:
        super().__init__(
            scope,
            id,
            description="Mistral 7B on a network-isolated SageMaker TGI 1.1 endpoint with a signed invoke proxy",
            **kwargs,  # type: ignore[arg-type]
        )
        self.mistral = MistralEndpoint(self, "Mistral", **config.options())
        if self.mistral.invoke_url is not None:
            CfnOutput(
                self,
                contract.DOOR_OUTPUTS["url"],
                value=self.mistral.invoke_url,
                description="Function URL (IAM auth)",
            )
        private_api = self.mistral.private_api
        if private_api is not None:
            # The client reads the door outputs (mistral-invoke --stack --door): their ids are the contract's.
            CfnOutput(
                self,
                contract.DOOR_OUTPUTS["private"],
                value=private_api.url,
                description="Private REST API stage URL (IAM auth, SigV4 service execute-api; only through the "
                "allowed execute-api VPC endpoints)",
            )
            if private_api.vpc_endpoint is not None:
                CfnOutput(
                    self,
                    "PrivateApiVpcEndpointId",
                    value=private_api.vpc_endpoint.vpc_endpoint_id,
                    description="The execute-api interface endpoint this stack created for the private API",
                )
        CfnOutput(self, "EndpointName", value=self.mistral.endpoint_name, description="SageMaker endpoint")
        CfnOutput(self, "Region", value=Aws.REGION, description="Region of the endpoint and the URL")
        for output_id, value, description in self.mistral.hosting_mode.stack_outputs():
            CfnOutput(self, output_id, value=value, description=description)
        if self.mistral.monitoring is not None:
            dashboard = self.mistral.monitoring.dashboard_name
            CfnOutput(
                self,
                "DashboardUrl",
                value=f"https://console.{Aws.URL_SUFFIX}/cloudwatch/home?region={Aws.REGION}#dashboards:name={dashboard}",
                description="The endpoint's CloudWatch dashboard",
            )
            CfnOutput(
                self,
                "AlarmTopicArn",
                value=self.mistral.monitoring.alarm_topic.topic_arn,
                description="SNS topic of the alarms (subscribe with -c alarmEmail=... or your own subscription)",
            )
        CfnOutput(
            self,
            "InvokeCommand",
            value=f"mistral-invoke --stack {Aws.STACK_NAME} --region {Aws.REGION} chat",
            description="Chat with the model (pip install this project for mistral-invoke)",
        )
