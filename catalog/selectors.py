"""Reads for the catalog: cards for data scientists, admin lists, version diffs, prices and quotas.

Every function runs a fixed number of queries whatever the number of templates (related rows are
joined or prefetched, the small price table is read once), so catalog pages stay constant-cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.urls import reverse

from catalog import baseline as baseline_rules
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
from catalog.specs import HardenedSpec, SpecInvalid, parse_spec
from core.roles import Role, has_role, roles_of

PROVIDER_LABELS = {Provider.AWS_SAGEMAKER.value: "AWS SageMaker", Provider.AZURE_ML.value: "Azure ML"}
# Quota for a role nobody configured yet: enough to work, small enough to be safe.
DEFAULT_QUOTA = (2, 4)


@dataclass
class Estimate:
    hourly: Decimal
    currency: str
    size: str


@dataclass
class CatalogCard:
    template: Template
    version: TemplateVersion
    spec: HardenedSpec
    guarantees: list[str]
    estimate: Estimate | None
    request_url: str
    provider_label: str
    classification_labels: list[str] = field(default_factory=list)


def price_index() -> dict[tuple[str, str], InstancePrice]:
    """The whole price table keyed by (provider, size): one query, small table."""
    return {(p.provider, p.size): p for p in InstancePrice.objects.all()}


def estimate_for(provider: str, spec: HardenedSpec, prices: dict[tuple[str, str], InstancePrice]) -> Estimate | None:
    """Hourly cost of the template's default size, from the maintained price table."""
    row = prices.get((provider, spec.default_size))
    return Estimate(row.hourly_price, row.currency, row.size) if row else None


def catalog_cards(*, provider: str = "", classification: str = "") -> list[CatalogCard]:
    """Templates a data scientist can request now (those with a published version), filtered.

    Two queries: published versions joined to their templates, and the price table.
    """
    versions = TemplateVersion.objects.filter(status=VersionStatus.PUBLISHED).select_related("template")
    if provider:
        versions = versions.filter(template__provider=provider)
    prices = price_index()
    labels = dict(Classification.choices)
    cards: list[CatalogCard] = []
    for version in versions.order_by("template__name"):
        template = version.template
        # JSON containment is not portable to SQLite; the list is tiny, so filter here.
        if classification and classification not in template.classifications:
            continue
        try:
            spec = parse_spec(template.provider, version.spec)
        except SpecInvalid:  # a published spec always parsed when published; never hide the whole page
            continue
        cards.append(
            CatalogCard(
                template=template,
                version=version,
                spec=spec,
                guarantees=baseline_rules.guarantees(template.provider, spec),
                estimate=estimate_for(template.provider, spec, prices),
                request_url=reverse("workspaces:request", kwargs={"slug": template.slug}),
                provider_label=PROVIDER_LABELS.get(template.provider, template.provider),
                classification_labels=[labels.get(c, c) for c in template.classifications],
            )
        )
    return cards


def published_version(template: Template) -> TemplateVersion | None:
    """The version new workspaces of ``template`` are built from, if any."""
    return TemplateVersion.objects.filter(template=template, status=VersionStatus.PUBLISHED).first()


@dataclass
class AdminTemplateRow:
    template: Template
    versions: list[TemplateVersion]
    published: TemplateVersion | None
    draft: TemplateVersion | None
    breaks_current_baseline: bool
    provider_label: str


def admin_template_rows() -> list[AdminTemplateRow]:
    """Every template with its versions, flagging published ones the current baseline would now refuse."""
    templates = Template.objects.prefetch_related(
        Prefetch("versions", queryset=TemplateVersion.objects.order_by("-number"))
    ).order_by("name")
    policy = baseline_rules.current_baseline()
    rows = []
    for template in templates:
        versions = list(template.versions.all())
        published = next((v for v in versions if v.status == VersionStatus.PUBLISHED), None)
        draft = next((v for v in versions if v.status == VersionStatus.DRAFT), None)
        rows.append(
            AdminTemplateRow(
                template=template,
                versions=versions,
                published=published,
                draft=draft,
                breaks_current_baseline=bool(published and violations_of(published, policy)),
                provider_label=PROVIDER_LABELS.get(template.provider, template.provider),
            )
        )
    return rows


def violations_of(version: TemplateVersion, policy: BaselinePolicy | None = None) -> list[baseline_rules.Violation]:
    """How ``version`` breaks the (current) baseline; a spec that no longer parses is one violation."""
    policy = policy or baseline_rules.current_baseline()
    try:
        spec = parse_spec(version.template.provider, version.spec)
    except SpecInvalid as exc:
        return [baseline_rules.Violation("schema", k, "; ".join(v)) for k, v in exc.errors.items()]
    return baseline_rules.check(spec, policy)


def template_by_slug(slug: str) -> Template | None:
    return Template.objects.filter(slug=slug).first()


def versions_of(template: Template) -> QuerySet[TemplateVersion]:
    return (
        TemplateVersion.objects.filter(template=template)
        .select_related("created_by", "published_by", "published_against")
        .order_by("-number")
    )


def version_of(template: Template, number: int) -> TemplateVersion | None:
    return versions_of(template).filter(number=number).first()


@dataclass(frozen=True)
class DiffRow:
    field: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def kind(self) -> str:
        if self.before == "" and self.after != "":
            return "added"
        if self.after == "" and self.before != "":
            return "removed"
        return "changed" if self.changed else "same"


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key in sorted(value):
            out.update(_flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        return {prefix: ", ".join(str(v) for v in value)}
    if isinstance(value, bool):
        return {prefix: "true" if value else "false"}
    return {prefix: "" if value is None else str(value)}


def version_diff(old: TemplateVersion, new: TemplateVersion) -> list[DiffRow]:
    """Field-by-field comparison of two versions' specs (tags flattened to ``mandatory_tags.<key>``)."""
    a, b = _flatten(old.spec), _flatten(new.spec)
    a["changelog"], b["changelog"] = old.changelog, new.changelog
    return [DiffRow(name, a.get(name, ""), b.get(name, "")) for name in sorted(set(a) | set(b))]


def baseline_history(limit: int = 20) -> list[BaselinePolicy]:
    return list(BaselinePolicy.objects.select_related("created_by").order_by("-version")[:limit])


def price_table() -> list[InstancePrice]:
    return list(InstancePrice.objects.select_related("updated_by").order_by("provider", "size"))


@dataclass
class QuotaRow:
    role: Role
    max_running: int
    max_total: int
    configured: bool
    row: RoleQuota | None


def role_quotas() -> list[QuotaRow]:
    """Every role with its quota (the default where none was configured)."""
    rows = {q.role: q for q in RoleQuota.objects.select_related("updated_by")}
    result = []
    for role in Role:
        row = rows.get(role.value)
        running, total = (row.max_running, row.max_total) if row else DEFAULT_QUOTA
        result.append(QuotaRow(role, running, total, row is not None, row))
    return result


def quota_for(user: Any) -> tuple[int, int]:
    """(max_running, max_total) workspaces for ``user``: the most generous quota among their roles.

    A role without a configured row gets ``DEFAULT_QUOTA``; a user with no role gets (0, 0).
    One query (roles are cached on the user object), safe to call inside the request service's
    ``select_for_update`` transaction.
    """
    held = {r.value for r in roles_of(user)}
    if not held:
        return (0, 0)
    configured = {q.role: (q.max_running, q.max_total) for q in RoleQuota.objects.filter(role__in=held)}
    limits = [configured.get(role, DEFAULT_QUOTA) for role in held]
    return (max(r for r, _ in limits), max(t for _, t in limits))


def templates_visible_to(user: Any) -> QuerySet[Template]:
    """API listing: catalog admins and auditors see every template; others only requestable ones."""
    qs = Template.objects.prefetch_related(
        Prefetch(
            "versions",
            queryset=TemplateVersion.objects.filter(status=VersionStatus.PUBLISHED),
            to_attr="published_versions",
        )
    ).order_by("name")
    if has_role(user, Role.CATALOG_ADMIN, Role.AUDITOR):
        return qs
    return qs.filter(versions__status=VersionStatus.PUBLISHED).distinct()


def dashboard_panels(user: Any) -> list[dict[str, Any]]:
    """Dashboard panel for catalog admins."""
    if not has_role(user, Role.CATALOG_ADMIN):
        return []
    rows = admin_template_rows()
    return [
        {
            "key": "catalog-admin",
            "title": "Catalog",
            "text": "Hardened templates data scientists can request.",
            "stats": [
                ("Published", sum(1 for r in rows if r.published)),
                ("Drafts", sum(1 for r in rows if r.draft)),
                ("Off-baseline", sum(1 for r in rows if r.breaks_current_baseline)),
            ],
            "links": [("Manage catalog", reverse("catalog:admin_templates"))],
        }
    ]
