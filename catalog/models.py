"""The catalog: templates and their immutable versions, the organisation baseline, prices and quotas.

Invariants live in the database where they can: one published version per
template, version numbers unique per template.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from catalog.providers import Provider
from core import limits


class Classification(models.TextChoices):
    INTERNAL = "internal", "Internal"
    CONFIDENTIAL = "confidential", "Confidential"
    RESTRICTED = "restricted", "Restricted"


class Template(models.Model):
    """A catalog entry. What it builds lives in its versions; this row carries the
    catalog-facing description and per-template limits."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    provider = models.CharField(max_length=20, choices=[(p.value, p.value) for p in Provider])
    description = models.TextField(max_length=limits.DESCRIPTION_MAX)
    intended_use = models.TextField(blank=True, max_length=limits.DESCRIPTION_MAX)
    classifications = models.JSONField(default=list, help_text="Data classifications a workspace may hold.")
    needs_approval = models.BooleanField(default=False)
    max_workspaces_per_user = models.PositiveSmallIntegerField(default=2)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded"
    RETIRED = "retired", "Retired"


class ImmutableVersionError(Exception):
    """A published, superseded or retired template version's content cannot change."""


# What a version may still change once it has left draft: only its place in the lifecycle.
_VERSION_LIFECYCLE_FIELDS = frozenset({"status", "published_by", "published_at", "retired_at"})


class TemplateVersionQuerySet(models.QuerySet["TemplateVersion"]):
    def update(self, **kwargs: Any) -> int:
        """Bulk updates may move versions through the lifecycle but never rewrite a non-draft's content."""
        content = set(kwargs) - _VERSION_LIFECYCLE_FIELDS
        if content and self.exclude(status=VersionStatus.DRAFT).exists():
            raise ImmutableVersionError(f"only draft versions can change {', '.join(sorted(content))}")
        return super().update(**kwargs)


class TemplateVersion(models.Model):
    """An immutable (once published) hardened spec. Workspaces point at the version
    they were built from, so later edits never change what they run.

    Only a draft's content (spec, changelog) may change; ``save`` refuses anything
    else, so neither a service bug nor the Django admin can alter what a running
    workspace was approved against. At most one draft and one published version
    exist per template (database constraints).
    """

    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    spec = models.JSONField(help_text="Validated against the provider's schema (catalog.specs).")
    status = models.CharField(max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    changelog = models.TextField(blank=True, max_length=limits.CHANGELOG_MAX)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_against = models.ForeignKey(
        "BaselinePolicy",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The baseline version this version was checked against when published.",
    )
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = TemplateVersionQuerySet.as_manager()

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_number_unique"),
            models.UniqueConstraint(
                fields=["template"],
                condition=models.Q(status="published"),
                name="template_one_published_version",
            ),
            models.UniqueConstraint(
                fields=["template"],
                condition=models.Q(status="draft"),
                name="template_one_draft_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template.name} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding and self.pk is not None:
            stored = (
                TemplateVersion.objects.filter(pk=self.pk)
                .values("template_id", "number", "spec", "changelog", "status", "created_by_id")
                .first()
            )
            if stored is not None and stored["status"] != VersionStatus.DRAFT:
                changed = [
                    name
                    for name in ("template_id", "number", "spec", "changelog", "created_by_id")
                    if getattr(self, name) != stored[name]
                ]
                if changed:
                    raise ImmutableVersionError(
                        f"{self} is {stored['status']}: its {', '.join(changed)} cannot change; edit the template "
                        "to create a new draft version"
                    )
        super().save(*args, **kwargs)

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT


class BaselinePolicy(models.Model):
    """One version of the organisation's security baseline every published template
    version must satisfy. Never edited in place: each change is a new row with the
    next ``version``, so what a version was published against stays provable.

    Internet access, root access and the customer-managed key are not settings here:
    they are always enforced (see ``catalog.baseline``).
    """

    version = models.PositiveIntegerField(unique=True)
    max_idle_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(5)], help_text="Longest idle time before a workspace must stop."
    )
    mandatory_tag_keys = models.JSONField(default=list, help_text="Tag keys every template must set.")
    allowed_instance_types = models.JSONField(default=list, help_text="SageMaker instance types templates may offer.")
    allowed_vm_sizes = models.JSONField(default=list, help_text="Azure ML VM sizes templates may offer.")
    max_volume_gb = models.PositiveIntegerField(
        validators=[MinValueValidator(5)], help_text="Ceiling for a workspace's storage volume (GB)."
    )
    change_note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.CheckConstraint(condition=models.Q(max_idle_minutes__gte=5), name="baseline_idle_at_least_5"),
            models.CheckConstraint(condition=models.Q(max_volume_gb__gte=5), name="baseline_volume_at_least_5"),
        ]

    def __str__(self) -> str:
        return f"Baseline v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableVersionError("a baseline version is never edited: create the next version instead")
        super().save(*args, **kwargs)


class InstancePrice(models.Model):
    """The maintained price table: what one hour of an instance type / VM size costs,
    used for the catalog's cost estimates."""

    provider = models.CharField(max_length=20, choices=[(p.value, p.value) for p in Provider])
    size = models.CharField(max_length=40, help_text="SageMaker instance type or Azure VM size.")
    hourly_price = models.DecimalField(max_digits=10, decimal_places=4, validators=[MinValueValidator(Decimal(0))])
    currency = models.CharField(max_length=3, default="EUR")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "size"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "size"], name="instance_price_unique_size"),
            models.CheckConstraint(condition=models.Q(hourly_price__gte=0), name="instance_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.size}: {self.hourly_price} {self.currency}/h"


class RoleQuota(models.Model):
    """Per-role workspace limits; a user gets the most generous quota among their roles."""

    role = models.CharField(max_length=30, unique=True)
    max_running = models.PositiveSmallIntegerField(help_text="Workspaces running (or on their way) at once.")
    max_total = models.PositiveSmallIntegerField(help_text="Workspaces that exist at once, in any live state.")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["role"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_running__lte=models.F("max_total")), name="role_quota_running_within_total"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.max_running} running / {self.max_total} total"
