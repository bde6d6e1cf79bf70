"""The Azure ML backend: a workspace is a personal, hardened Azure ML compute instance.

It owns every call Enclave makes to Azure Resource Manager for workspaces — the
compute instance (azure-mgmt-machinelearningservices) and the dataset role
assignments of its managed identity (azure-mgmt-authorization) — and the
translation of Azure's errors into the portal's ``CloudError`` vocabulary.

API version: the installed SDK's typed models stop at 2020-08-01, which cannot
express ``enableNodePublicIp`` or ``idleTimeBeforeShutdown``. Rather than drop
two baseline controls, every compute call uses ``API_VERSION`` (2025-12-01,
an api-version whose published definition declares every property the create body
sends, ``idleTimeBeforeShutdown`` included — 2024-04-01 does not): the create
body is built as JSON by ``build_compute_instance_body`` and sent as bytes,
responses are read as raw JSON (the 2020-08-01 models would silently discard
the same fields on the way back), and start/stop/delete — typed in the SDK
with other status codes than the api-version publishes (202 for start/stop,
200/202/204 for delete) — go through the client's own pipeline via
``_send_request``. Every request thus still gets the SDK's authentication,
retry and logging policies. A running instance is reported running only once
its read-back confirms idle shutdown (see ``status_from_resource``), and the
api-version used is recorded in the refs, hardening facts and grant details
that the portal stores and audits.

Nothing here waits for Azure: long-running operations are started with
``polling=False`` (a polling ``LROPoller`` would start a background thread) and
the portal observes progress by calling ``describe`` again later.

Layout: ``client`` (api-versions, credentials, bounded retries), ``locations``
(ARM ids and compute names), ``body`` (the create body), ``status`` (reading a
compute back), ``errors`` (Azure errors → ``CloudError``), ``grants`` (role
assignments) and ``backend`` (the operations). Import from this package.
"""

from workspaces.backends.azureml.backend import AzureMLBackend
from workspaces.backends.azureml.body import MANAGED_TAG, WORKSPACE_TAG, build_compute_instance_body
from workspaces.backends.azureml.client import (
    API_VERSION,
    AUTHORIZATION_API_VERSION,
    MAX_INLINE_RETRY_AFTER,
    PUBLIC_ARM_ENDPOINT,
    RETRY_TOTAL,
    StaticTokenCredential,
)
from workspaces.backends.azureml.errors import to_cloud_error
from workspaces.backends.azureml.grants import STORAGE_BLOB_DATA_READER
from workspaces.backends.azureml.locations import ComputeLocation, compute_name_for, parse_known_workspaces
from workspaces.backends.azureml.status import status_from_resource

__all__ = [
    "API_VERSION",
    "AUTHORIZATION_API_VERSION",
    "MANAGED_TAG",
    "MAX_INLINE_RETRY_AFTER",
    "PUBLIC_ARM_ENDPOINT",
    "RETRY_TOTAL",
    "STORAGE_BLOB_DATA_READER",
    "WORKSPACE_TAG",
    "AzureMLBackend",
    "ComputeLocation",
    "StaticTokenCredential",
    "build_compute_instance_body",
    "compute_name_for",
    "parse_known_workspaces",
    "status_from_resource",
    "to_cloud_error",
]
