"""The AWS SageMaker backend, split by responsibility; import the public names from here.

- ``backend``   ``SageMakerBackend``: the ``WorkspaceBackend`` operations
- ``clients``   boto3 session and clients, the portal's own account
- ``errors``    botocore errors → ``CloudError`` (``translate_client_error``, ``aws_errors``)
- ``roles``     the workspace's execution role in IAM
- ``policies``  the role's trust, base and data-grant policy documents
- ``lifecycle`` the idle auto-stop OnStart script
- ``status``    AWS answers → ``CloudRef``/``CloudStatus``
"""

from workspaces.backends.sagemaker.backend import SESSION_SECONDS_MAX, SESSION_SECONDS_MIN, SageMakerBackend
from workspaces.backends.sagemaker.errors import aws_errors, translate_client_error
from workspaces.backends.sagemaker.lifecycle import LIFECYCLE_SCRIPT_MAX_CHARS, lifecycle_on_start_script
from workspaces.backends.sagemaker.policies import BASE_POLICY_NAME, GRANT_POLICY_PREFIX, NOTEBOOK_LOG_GROUP
from workspaces.backends.sagemaker.status import MANAGED_TAG

__all__ = [
    "BASE_POLICY_NAME",
    "GRANT_POLICY_PREFIX",
    "LIFECYCLE_SCRIPT_MAX_CHARS",
    "MANAGED_TAG",
    "NOTEBOOK_LOG_GROUP",
    "SESSION_SECONDS_MAX",
    "SESSION_SECONDS_MIN",
    "SageMakerBackend",
    "aws_errors",
    "lifecycle_on_start_script",
    "translate_client_error",
]
