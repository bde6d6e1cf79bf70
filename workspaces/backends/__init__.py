"""Provider backends: pick the implementation for a template's provider.

Configuration comes from Django settings (themselves from the environment), so
the same code talks to the local stand-ins in the demo and tests and to the real
clouds in production.
"""

from __future__ import annotations

from functools import cache

from workspaces.backends.base import Provider, WorkspaceBackend


@cache
def get_backend(provider: Provider | str) -> WorkspaceBackend:
    """The configured backend for ``provider`` (one instance per process)."""
    provider = Provider(provider)
    if provider is Provider.AWS_SAGEMAKER:
        from workspaces.backends.sagemaker import SageMakerBackend

        return SageMakerBackend.from_settings()
    if provider is Provider.AZURE_ML:
        from workspaces.backends.azureml import AzureMLBackend

        return AzureMLBackend.from_settings()
    raise ValueError(f"no backend for provider {provider!r}")
