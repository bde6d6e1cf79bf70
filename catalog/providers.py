"""The clouds a template can target. The catalog names them; ``workspaces.backends`` implements them."""

from __future__ import annotations

import enum


class Provider(enum.StrEnum):
    AWS_SAGEMAKER = "aws_sagemaker"
    AZURE_ML = "azure_ml"
