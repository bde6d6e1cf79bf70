"""Writes to the catalog: templates, their versions' lifecycle, the baseline, prices and quotas.

Every function takes the acting user, checks that they are a catalog admin (auditing a refusal),
changes state and records the audit event with before/after values in one transaction. Pages and
the API call these and nothing else.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from audit.actions import Action, Outcome
from audit.diffing import changed_fields
from audit.services import Target, record, record_denied
from catalog import baseline as baseline_rules
from catalog import checks as publish_checks
from catalog.models import (
    BaselinePolicy,
    Classification,
    InstancePrice,
    RoleQuota,
    Template,
    TemplateVersion,
    VersionStatus,
)
from catalog.providers import Provider
from catalog.specs import SpecInvalid, parse_spec
from core.errors import ConflictError, DomainError, PermissionDeniedError
from core.roles import Role, has_role

PROVIDERS = frozenset(p.value for p in Provider)
TEMPLATE_FIELDS = (
    "name",
    "description",
    "intended_use",
    "classifications",
    "needs_approval",
    "max_workspaces_per_user",
)
BASELINE_FIELDS = (
    "max_idle_minutes",
    "mandatory_tag_keys",
    "allowed_instance_types",
    "allowed_vm_sizes",
    "max_volume_gb",
)


class CatalogInvalid(DomainError):
    """Input a catalog admin can fix; ``field_errors`` names the fields (spec fields as ``spec.<name>``)."""

    code = "invalid"


class BaselineViolation(DomainError):
    """Publishing refused: the version breaks the organisation baseline (every violation listed)."""

    code = "baseline_violation"

    def __init__(self, violations: list[baseline_rules.Violation]) -> None:
        field_errors: dict[str, list[str]] = {}
        for v in violations:
            field_errors.setdefault(f"spec.{v.field}", []).append(v.message)
        super().__init__(
            f"This version breaks the security baseline in {len(violations)} way(s): "
            + " ".join(v.message for v in violations),
            field_errors=field_errors,
        )
        self.violations = violations


class VersionStateConflict(ConflictError):
    code = "version_state"


# --- helpers ------------------------------------------------------------------------------------


def require_catalog_admin(actor: Any, doing: str, target: Target = None) -> None:
    """Only catalog admins change the catalog; a refusal is audited (committed even though we raise)."""
    if not has_role(actor, Role.CATALOG_ADMIN):
        reason = f"Only catalog admins can {doing}."
        record_denied(actor=actor, target=target, reason=reason, attempted=doing)
        raise PermissionDeniedError(reason)


def _template_snapshot(template: Template) -> dict[str, Any]:
    return {name: getattr(template, name) for name in TEMPLATE_FIELDS}


def _version_snapshot(version: TemplateVersion) -> dict[str, Any]:
    return {"number": version.number, "status": version.status, "spec": version.spec, "changelog": version.changelog}


def _baseline_snapshot(policy: BaselinePolicy) -> dict[str, Any]:
    return {"version": policy.version, **{name: getattr(policy, name) for name in BASELINE_FIELDS}}


def _validated_spec(provider: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as the schema normalises it (defaults filled in), or field-level errors."""
    try:
        parsed = parse_spec(provider, spec)
    except SpecInvalid as exc:
        raise CatalogInvalid(
            "The hardened spec is not valid.", field_errors={f"spec.{k}": v for k, v in exc.errors.items()}
        ) from exc
    data: dict[str, Any] = parsed.model_dump(mode="json")
    return data


def _clean_template_fields(changes: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    unknown = set(changes) - set(TEMPLATE_FIELDS)
    if unknown:
        errors["__all__"] = [f"Unknown or read-only fields: {', '.join(sorted(unknown))}."]
    if "name" in changes and not str(changes["name"]).strip():
        errors["name"] = ["A name is required."]
    if "description" in changes and not str(changes["description"]).strip():
        errors["description"] = ["Say what the template is for."]
    if "classifications" in changes:
        values = list(changes["classifications"] or [])
        bad = [c for c in values if c not in Classification.values]
        if bad or not values:
            errors["classifications"] = [f"Choose one or more of: {', '.join(Classification.values)}."]
        else:
            changes["classifications"] = [c for c in Classification.values if c in values]  # canonical order
    if "max_workspaces_per_user" in changes:
        limit = changes["max_workspaces_per_user"]
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 50:
            errors["max_workspaces_per_user"] = ["Must be a whole number from 1 to 50."]
    if "needs_approval" in changes:
        changes["needs_approval"] = bool(changes["needs_approval"])
    if errors:
        raise CatalogInvalid("Please correct the highlighted fields.", field_errors=errors)
    return changes


# --- templates and versions ---------------------------------------------------------------------


def create_template(
    actor: Any,
    *,
    slug: str,
    provider: str,
    spec: dict[str, Any],
    changelog: str = "",
    **fields: Any,
) -> TemplateVersion:
    """Create a template and its first (draft) version.

    The spec must match the provider's schema, but it may still break the baseline: drafts are
    where admins work, and the baseline is enforced when a version is published.
    """
    require_catalog_admin(actor, "create templates")
    errors: dict[str, list[str]] = {}
    if provider not in PROVIDERS:
        errors["provider"] = ["Choose AWS SageMaker or Azure ML."]
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,59}", slug or ""):
        errors["slug"] = ["Use 2–60 lowercase letters, digits and hyphens."]
    try:
        fields = _clean_template_fields(dict(fields))
    except CatalogInvalid as exc:
        errors.update(exc.field_errors)
    for name in ("name", "description", "classifications"):
        if name not in fields:
            errors.setdefault(name, ["This field is required."])
    if errors:
        raise CatalogInvalid("Please correct the highlighted fields.", field_errors=errors)
    clean_spec = _validated_spec(provider, spec)
    try:
        with transaction.atomic():
            template = Template.objects.create(slug=slug, provider=provider, created_by=actor, **fields)
            version = TemplateVersion.objects.create(
                template=template, number=1, spec=clean_spec, changelog=changelog or "First version", created_by=actor
            )
            record(
                action=Action.TEMPLATE_CREATED,
                actor=actor,
                target=template,
                details={"slug": slug, "provider": provider, "before": None, "after": _template_snapshot(template)},
            )
            record(
                action=Action.TEMPLATE_VERSION_CREATED,
                actor=actor,
                target=version,
                details={"template": slug, "before": None, "after": _version_snapshot(version)},
            )
    except IntegrityError as exc:
        raise CatalogInvalid(
            "That slug is taken.", field_errors={"slug": ["A template with this slug exists."]}
        ) from exc
    return version


def update_template(actor: Any, template: Template, **changes: Any) -> Template:
    """Change a template's catalog-facing description and limits (not its spec: see ``save_draft``).

    These apply to workspaces requested from now on; existing workspaces keep what they were built with.
    """
    require_catalog_admin(actor, "edit templates", template)
    changes = _clean_template_fields(dict(changes))
    with transaction.atomic():
        template = Template.objects.select_for_update().get(pk=template.pk)
        before = _template_snapshot(template)
        for name, value in changes.items():
            setattr(template, name, value)
        after = _template_snapshot(template)
        if before == after:
            return template
        template.save()
        record(
            action=Action.TEMPLATE_UPDATED,
            actor=actor,
            target=template,
            details={"changed": changed_fields(before, after), "before": before, "after": after},
        )
    return template


def save_draft(actor: Any, template: Template, *, spec: dict[str, Any], changelog: str = "") -> TemplateVersion:
    """Save a spec edit as the template's draft version.

    Published versions are immutable, so editing a published template creates a new draft
    (number = highest + 1) and leaves the published one serving new workspaces until the draft
    is published. An existing draft is updated in place.
    """
    require_catalog_admin(actor, "edit templates", template)
    clean_spec = _validated_spec(template.provider, spec)
    with transaction.atomic():
        Template.objects.select_for_update().filter(pk=template.pk).first()
        draft = TemplateVersion.objects.filter(template=template, status=VersionStatus.DRAFT).first()
        if draft is not None:
            before = _version_snapshot(draft)
            draft.spec = clean_spec
            draft.changelog = changelog or draft.changelog
            if _version_snapshot(draft) == before:
                return draft
            draft.save(update_fields=["spec", "changelog"])
            record(
                action=Action.TEMPLATE_VERSION_UPDATED,
                actor=actor,
                target=draft,
                details={"template": template.slug, "before": before, "after": _version_snapshot(draft)},
            )
            return draft
        latest = TemplateVersion.objects.filter(template=template).order_by("-number").first()
        if latest is not None and latest.spec == clean_spec and not changelog:
            raise CatalogInvalid(f"Nothing changed: the spec is the same as version {latest.number}.")
        number = (TemplateVersion.objects.filter(template=template).aggregate(n=Max("number"))["n"] or 0) + 1
        draft = TemplateVersion.objects.create(
            template=template, number=number, spec=clean_spec, changelog=changelog, created_by=actor
        )
        record(
            action=Action.TEMPLATE_VERSION_CREATED,
            actor=actor,
            target=draft,
            details={
                "template": template.slug,
                "based_on": latest.number if latest else None,
                "before": _version_snapshot(latest) if latest else None,
                "after": _version_snapshot(draft),
            },
        )
    return draft


def edit_template(
    actor: Any, template: Template, *, spec: dict[str, Any], changelog: str = "", **changes: Any
) -> TemplateVersion | None:
    """The edit page's one save: catalog fields and, when the spec (or the draft's changelog) changed,
    the draft version — in one transaction. Returns the draft, or None when only catalog fields changed."""
    require_catalog_admin(actor, "edit templates", template)
    clean_spec = _validated_spec(template.provider, spec)
    with transaction.atomic():
        if changes:
            update_template(actor, template, **changes)
        draft = TemplateVersion.objects.filter(template=template, status=VersionStatus.DRAFT).first()
        base = draft or TemplateVersion.objects.filter(template=template).order_by("-number").first()
        if (
            base is not None
            and base.spec == clean_spec
            and (draft is None or not changelog or changelog == draft.changelog)
        ):
            return draft
        return save_draft(actor, template, spec=clean_spec, changelog=changelog)


def publish_version(actor: Any, version: TemplateVersion) -> TemplateVersion:
    """Make a draft the version new workspaces are built from.

    Refused, with every violation listed and the refusal audited, when the spec breaks the current
    organisation baseline: a template is the bank's promise about every workspace built from it.
    The previously published version becomes superseded; workspaces built from it keep running it.
    """
    template = version.template
    require_catalog_admin(actor, "publish template versions", version)
    violations: list[baseline_rules.Violation] = []
    # What the cloud says (e.g. the boundary policy exists), asked before any row is locked.
    try:
        cloud_problems = publish_checks.run(
            template.provider, parse_spec(template.provider, TemplateVersion.objects.get(pk=version.pk).spec)
        )
    except SpecInvalid:
        cloud_problems = []  # reported below, under the lock, like any other invalid spec
    with transaction.atomic():
        Template.objects.select_for_update().filter(pk=template.pk).first()
        version = TemplateVersion.objects.select_related("template").get(pk=version.pk)
        if version.status != VersionStatus.DRAFT:
            raise VersionStateConflict(f"Only a draft can be published; v{version.number} is {version.status}.")
        policy = baseline_rules.current_baseline()
        if policy.pk is None:  # first publish under the stock baseline: make it a provable row
            policy.save()
            record(
                action=Action.BASELINE_CHANGED,
                actor=actor,
                target=policy,
                details={"before": None, "after": _baseline_snapshot(policy), "note": "stock baseline adopted"},
            )
        spec = parse_spec(template.provider, version.spec)
        violations = baseline_rules.check(spec, policy) + cloud_problems
        if violations:
            record(
                action=Action.TEMPLATE_VERSION_PUBLISH_REFUSED,
                actor=actor,
                target=version,
                outcome=Outcome.DENIED,
                details={
                    "template": template.slug,
                    "baseline_version": policy.version,
                    "violations": [v.as_dict() for v in violations],
                },
            )
        else:
            previous = TemplateVersion.objects.filter(template=template, status=VersionStatus.PUBLISHED).first()
            if previous is not None:
                previous.status = VersionStatus.SUPERSEDED
                previous.save(update_fields=["status"])
            version.status = VersionStatus.PUBLISHED
            version.published_by = actor
            version.published_at = timezone.now()
            version.published_against = policy
            version.save(update_fields=["status", "published_by", "published_at", "published_against"])
            record(
                action=Action.TEMPLATE_VERSION_PUBLISHED,
                actor=actor,
                target=version,
                details={
                    "template": template.slug,
                    "baseline_version": policy.version,
                    "before": {"published": previous.number if previous else None, "status": VersionStatus.DRAFT},
                    "after": {"published": version.number, "status": VersionStatus.PUBLISHED},
                    "superseded": previous.number if previous else None,
                },
            )
    if violations:  # raised outside the transaction so the refusal's audit event is kept
        raise BaselineViolation(violations)
    return version


def retire_version(actor: Any, version: TemplateVersion) -> TemplateVersion:
    """Stop a version from being used for new workspaces.

    Existing workspaces built from it are not touched: retiring is about what may be requested,
    not about what runs (stopping those is a separate, owner-visible decision).
    """
    require_catalog_admin(actor, "retire template versions", version)
    with transaction.atomic():
        Template.objects.select_for_update().filter(pk=version.template_id).first()
        version = TemplateVersion.objects.select_related("template").get(pk=version.pk)
        if version.status not in (VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED):
            raise VersionStateConflict(f"Only a published or superseded version can be retired; v{version.number} is "
                                       f"{version.status}.")  # fmt: skip
        before = version.status
        version.status = VersionStatus.RETIRED
        version.retired_at = timezone.now()
        version.save(update_fields=["status", "retired_at"])
        record(
            action=Action.TEMPLATE_VERSION_RETIRED,
            actor=actor,
            target=version,
            details={
                "template": version.template.slug,
                "before": {"status": before},
                "after": {"status": VersionStatus.RETIRED},
                "workspaces_using_it": version.workspaces.count(),
            },
        )
    return version


# --- baseline, prices, quotas ----------------------------------------------------------------------


def _clean_list(values: Any, field: str, errors: dict[str, list[str]], pattern: str | None = None) -> list[str]:
    items = [str(v).strip() for v in (values or []) if str(v).strip()]
    if pattern:
        bad = [v for v in items if not re.fullmatch(pattern, v)]
        if bad:
            errors[field] = [f"Not valid: {', '.join(bad)}."]
    return list(dict.fromkeys(items))


def change_baseline(actor: Any, *, change_note: str = "", **values: Any) -> BaselinePolicy:
    """Save a new baseline version (the old one stays, so past publications remain provable).

    Already-published versions are not re-checked automatically; the admin list flags those that no
    longer comply so a catalog admin can publish a compliant successor.
    """
    require_catalog_admin(actor, "change the security baseline")
    errors: dict[str, list[str]] = {}
    current = baseline_rules.current_baseline()
    merged = {name: values.get(name, getattr(current, name)) for name in BASELINE_FIELDS}
    for name in ("max_idle_minutes", "max_volume_gb"):
        value = merged[name]
        if not isinstance(value, int) or isinstance(value, bool) or not 5 <= value <= 16384:
            errors[name] = ["Must be a whole number from 5 to 16384."]
    merged["mandatory_tag_keys"] = _clean_list(
        merged["mandatory_tag_keys"], "mandatory_tag_keys", errors, r"[A-Za-z0-9 _.:/=+\-@]{1,128}"
    )
    merged["allowed_instance_types"] = _clean_list(
        merged["allowed_instance_types"], "allowed_instance_types", errors, r"ml\.[a-z0-9]+\.[a-z0-9]+"
    )
    merged["allowed_vm_sizes"] = _clean_list(
        merged["allowed_vm_sizes"], "allowed_vm_sizes", errors, r"Standard_[A-Za-z0-9_]+"
    )
    if errors:
        raise CatalogInvalid("Please correct the highlighted fields.", field_errors=errors)
    with transaction.atomic():
        latest = BaselinePolicy.objects.select_for_update().order_by("-version").first()
        before = _baseline_snapshot(latest) if latest is not None else None
        if before is not None and {k: before[k] for k in BASELINE_FIELDS} == merged:
            raise CatalogInvalid("Nothing changed.")
        policy = BaselinePolicy.objects.create(
            version=(latest.version if latest else 0) + 1, change_note=change_note[:300], created_by=actor, **merged
        )
        record(
            action=Action.BASELINE_CHANGED,
            actor=actor,
            target=policy,
            details={"before": before, "after": _baseline_snapshot(policy), "note": change_note},
        )
    return policy


def set_price(actor: Any, *, provider: str, size: str, hourly_price: Any, currency: str = "EUR") -> InstancePrice:
    """Create or change one row of the price table used for the catalog's cost estimates."""
    require_catalog_admin(actor, "change instance prices")
    errors: dict[str, list[str]] = {}
    if provider not in PROVIDERS:
        errors["provider"] = ["Choose AWS SageMaker or Azure ML."]
    size = size.strip()
    pattern = r"ml\.[a-z0-9]+\.[a-z0-9]+" if provider == Provider.AWS_SAGEMAKER else r"Standard_[A-Za-z0-9_]+"
    if not re.fullmatch(pattern, size):
        errors["size"] = ["Not a valid instance type / VM size for this provider."]
    try:
        price = Decimal(str(hourly_price)).quantize(Decimal("0.0001"))
        if price < 0 or price >= Decimal("1000000"):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["hourly_price"] = ["Enter a price of 0 or more."]
        price = Decimal(0)
    currency = currency.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        errors["currency"] = ["Use a three-letter currency code (EUR, GBP, USD)."]
    if errors:
        raise CatalogInvalid("Please correct the highlighted fields.", field_errors=errors)
    with transaction.atomic():
        row = InstancePrice.objects.select_for_update().filter(provider=provider, size=size).first()
        before = {"hourly_price": str(row.hourly_price), "currency": row.currency} if row else None
        if row is None:
            row = InstancePrice(provider=provider, size=size)
        row.hourly_price = price
        row.currency = currency
        row.updated_by = actor
        row.save()
        record(
            action=Action.PRICE_CHANGED,
            actor=actor,
            target=row,
            details={
                "provider": provider,
                "size": size,
                "before": before,
                "after": {"hourly_price": str(price), "currency": currency},
            },
        )
    return row


def set_role_quota(actor: Any, *, role: str, max_running: int, max_total: int) -> RoleQuota:
    """Set how many workspaces a holder of ``role`` may run and keep (the most generous role wins)."""
    require_catalog_admin(actor, "change quotas")
    errors: dict[str, list[str]] = {}
    if role not in Role.values:
        errors["role"] = ["Unknown role."]
    for name, value in (("max_running", max_running), ("max_total", max_total)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
            errors[name] = ["Must be a whole number from 0 to 100."]
    if not errors and max_running > max_total:
        errors["max_running"] = ["Cannot exceed the total."]
    if errors:
        raise CatalogInvalid("Please correct the highlighted fields.", field_errors=errors)
    with transaction.atomic():
        row = RoleQuota.objects.select_for_update().filter(role=role).first()
        before = {"max_running": row.max_running, "max_total": row.max_total} if row else None
        if row is None:
            row = RoleQuota(role=role)
        row.max_running, row.max_total, row.updated_by = max_running, max_total, actor
        row.save()
        record(
            action=Action.QUOTA_CHANGED,
            actor=actor,
            target=row,
            details={"role": role, "before": before, "after": {"max_running": max_running, "max_total": max_total}},
        )
    return row
