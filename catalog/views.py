"""Catalog pages: the catalog data scientists browse, and the catalog admin pages.

Admin pages are readable by auditors (GET) but only catalog admins may change anything (POST);
every refusal is audited by ``portal.permissions``. Views parse input, call a catalog service or
selector and render — nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from catalog import baseline as baseline_rules
from catalog import selectors, services, usage
from catalog.forms import (
    STARTER_SPECS,
    BaselineForm,
    PriceForm,
    QuotaForm,
    SpecForm,
    TemplateForm,
    apply_domain_error,
)
from catalog.models import Classification, Template, TemplateVersion, VersionStatus
from catalog.providers import Provider
from core.errors import DomainError
from core.permissions import any_role, role_required
from core.roles import Role, has_role
from portal.permissions import forbid, not_found

ADMIN_READERS = (Role.CATALOG_ADMIN, Role.AUDITOR)


def admin_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Catalog admins may read and write; auditors may only read (their POST is an audited 403)."""

    @role_required(*ADMIN_READERS)
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD") and not has_role(request.user, Role.CATALOG_ADMIN):
            return forbid(request, reason="Only catalog admins can change the catalog; auditors have read access.")
        return view(request, *args, **kwargs)

    return wrapped


def _template_or_404(request: HttpRequest, slug: str) -> Template:
    template = selectors.template_by_slug(slug)
    if template is None:
        raise not_found(request, reason="No such template.", target=("catalog.template", slug, slug))
    return template


def _version_or_404(request: HttpRequest, template: Template, number: int) -> TemplateVersion:
    version = selectors.version_of(template, number)
    if version is None:
        raise not_found(request, reason="No such template version.", target=template)
    return version


# --- the catalog -------------------------------------------------------------------------------------


@any_role
@require_http_methods(["GET", "HEAD"])
def catalog(request: HttpRequest) -> HttpResponse:
    """Hardened templates a data scientist can request, with what each guarantees and costs."""
    provider = request.GET.get("provider", "")
    provider = provider if provider in {p.value for p in Provider} else ""
    classification = request.GET.get("classification", "")
    classification = classification if classification in Classification.values else ""
    cards = selectors.catalog_cards(provider=provider, classification=classification)
    context = {
        "cards": cards,
        "provider": provider,
        "classification": classification,
        "providers": list(selectors.PROVIDER_LABELS.items()),
        "classifications": Classification.choices,
        "usage": usage.usage_for(request.user) if has_role(request.user, Role.DATA_SCIENTIST) else None,
    }
    return render(request, "catalog/catalog.html", context)


# --- admin: templates ----------------------------------------------------------------------------------


@admin_page
@require_http_methods(["GET", "HEAD"])
def admin_templates(request: HttpRequest) -> HttpResponse:
    rows = selectors.admin_template_rows()
    return render(request, "catalog/admin_list.html", {"rows": rows, "tab": "templates"})


@role_required(Role.CATALOG_ADMIN)
@require_http_methods(["GET", "HEAD", "POST"])
def admin_template_create(request: HttpRequest) -> HttpResponse:
    provider = request.GET.get("provider") or request.POST.get("provider", "")
    if provider not in selectors.PROVIDER_LABELS:
        return render(
            request,
            "catalog/provider_choice.html",
            {"providers": selectors.PROVIDER_LABELS, "tab": "templates"},
        )
    if request.method == "POST":
        form = TemplateForm(request.POST, creating=True)
        spec_form = SpecForm(provider, request.POST)
        if form.is_valid() and spec_form.is_valid():
            try:
                version = services.create_template(
                    request.user,
                    slug=form.cleaned_data["slug"],
                    provider=provider,
                    spec=spec_form.spec,
                    changelog=form.cleaned_data["changelog"],
                    **form.template_values(),
                )
            except DomainError as exc:
                apply_domain_error(exc, form, spec_form)
            else:
                messages.success(
                    request,
                    f"Saved “{version.template.name}” as draft v1. Check it against the baseline, then publish it.",
                )
                return redirect("catalog:admin_template", slug=version.template.slug)
    else:
        form = TemplateForm(
            creating=True, initial={"classifications": [Classification.INTERNAL], "max_workspaces_per_user": 2}
        )
        spec_form = SpecForm(provider, spec=STARTER_SPECS[provider])
    context = {
        "form": form,
        "spec_form": spec_form,
        "provider": provider,
        "provider_label": selectors.PROVIDER_LABELS[provider],
        "spec_fields": _spec_fields(spec_form, {}),
        "creating": True,
        "tab": "templates",
        "baseline": baseline_rules.current_baseline(),
    }
    return render(request, "catalog/template_form.html", context, status=400 if request.method == "POST" else 200)


@admin_page
@require_http_methods(["GET", "HEAD"])
def admin_template(request: HttpRequest, slug: str) -> HttpResponse:
    template = _template_or_404(request, slug)
    versions = list(selectors.versions_of(template))
    draft = next((v for v in versions if v.status == VersionStatus.DRAFT), None)
    published = next((v for v in versions if v.status == VersionStatus.PUBLISHED), None)
    context = {
        "template": template,
        "versions": versions,
        "draft": draft,
        "published": published,
        "draft_violations": selectors.violations_of(draft) if draft else [],
        "provider_label": selectors.PROVIDER_LABELS.get(template.provider, template.provider),
        "tab": "templates",
    }
    return render(request, "catalog/template_detail.html", context)


@role_required(Role.CATALOG_ADMIN)
@require_http_methods(["GET", "HEAD", "POST"])
def admin_template_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """Edit catalog fields and the spec; a spec change lands in the draft (a new one if the current is published)."""
    template = _template_or_404(request, slug)
    versions = list(selectors.versions_of(template))
    draft = next((v for v in versions if v.status == VersionStatus.DRAFT), None)
    base = draft or (versions[0] if versions else None)
    status = 200
    if request.method == "POST":
        form = TemplateForm(request.POST, creating=False)
        spec_form = SpecForm(template.provider, request.POST)
        if form.is_valid() and spec_form.is_valid():
            try:
                saved = services.edit_template(
                    request.user,
                    template,
                    spec=spec_form.spec,
                    changelog=form.cleaned_data["changelog"],
                    **form.template_values(),
                )
            except DomainError as exc:
                apply_domain_error(exc, form, spec_form)
            else:
                if saved is not None:
                    messages.success(
                        request,
                        f"Saved as draft v{saved.number}. Published workspaces are unaffected until you publish it.",
                    )
                else:
                    messages.success(request, "Saved the catalog details.")
                return redirect("catalog:admin_template", slug=template.slug)
        status = 400
    else:
        initial = {name: getattr(template, name) for name in services.TEMPLATE_FIELDS}
        initial["changelog"] = draft.changelog if draft else ""
        form = TemplateForm(creating=False, initial=initial)
        spec_form = SpecForm(template.provider, spec=base.spec if base else STARTER_SPECS[template.provider])
    violations = selectors.violations_of(base) if base else []
    context = {
        "form": form,
        "spec_form": spec_form,
        "template": template,
        "provider": template.provider,
        "provider_label": selectors.PROVIDER_LABELS.get(template.provider, template.provider),
        "creating": False,
        "base": base,
        "draft": draft,
        "violations": violations,
        "spec_fields": _spec_fields(spec_form, _by_field(violations)),
        "tab": "templates",
        "baseline": baseline_rules.current_baseline(),
    }
    return render(request, "catalog/template_form.html", context, status=status)


SPEC_GROUPS: dict[str, list[tuple[str, list[str]]]] = {
    Provider.AWS_SAGEMAKER.value: [
        ("Network and access", ["subnet_id", "security_group_ids", "direct_internet_access", "root_access",
                                "permissions_boundary_arn"]),
        ("Encryption", ["kms_key_id"]),
        ("Sizes and storage", ["allowed_instance_types", "default_instance_type", "platform_identifier",
                               "volume_size_gb_min", "volume_size_gb_max", "volume_size_gb_default"]),
        ("Lifecycle", ["idle_stop_minutes", "extra_lifecycle_script"]),
        ("Tags", ["mandatory_tags"]),
    ],
    Provider.AZURE_ML.value: [
        ("Placement", ["subscription_id", "resource_group", "workspace_name", "location"]),
        ("Network and access", ["subnet_id", "enable_node_public_ip", "ssh_public_access"]),
        ("Encryption", ["customer_managed_key_id"]),
        ("Sizes", ["allowed_vm_sizes", "default_vm_size"]),
        ("Lifecycle", ["idle_shutdown_minutes"]),
        ("Tags", ["mandatory_tags"]),
    ],
}  # fmt: skip
LONG_TEXT_FIELDS = {"extra_lifecycle_script", "permissions_boundary_arn", "kms_key_id", "customer_managed_key_id"}


def _spec_fields(
    spec_form: SpecForm, notes: dict[str, list[str]]
) -> list[tuple[str, list[tuple[Any, list[str], bool]]]]:
    """Spec fields grouped for the page: (group title, [(bound field, baseline notes, spans both columns)]).
    Fields the grouping does not know yet (a new schema field) land in "Other"."""

    def entry(name: str) -> tuple[Any, list[str], bool]:
        kind = spec_form.kinds[name]
        long_subnet = name == "subnet_id" and spec_form.provider == Provider.AZURE_ML.value
        wide = kind in ("list", "dict") or name in LONG_TEXT_FIELDS or long_subnet
        return (spec_form[name], notes.get(name, []), wide)

    groups = []
    placed: set[str] = set()
    for title, names in SPEC_GROUPS.get(spec_form.provider, []):
        present = [n for n in names if n in spec_form.kinds]
        placed.update(present)
        if present:
            groups.append((title, [entry(n) for n in present]))
    rest = [n for n in spec_form.kinds if n not in placed]
    if rest:
        groups.append(("Other", [entry(n) for n in rest]))
    return groups


def _by_field(violations: list[baseline_rules.Violation]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for v in violations:
        grouped.setdefault(v.field, []).append(v.message)
    return grouped


def _render_version(
    request: HttpRequest,
    version: TemplateVersion,
    *,
    refusal: services.BaselineViolation | None = None,
    status: int = 200,
) -> HttpResponse:
    template = version.template
    violations = selectors.violations_of(version) if version.status == VersionStatus.DRAFT else []
    context = {
        "template": template,
        "version": version,
        "spec_rows": selectors.version_diff(version, version),
        "violations": refusal.violations if refusal else violations,
        "refused": refusal is not None,
        "workspace_count": version.workspaces.count(),
        "others": [v.number for v in selectors.versions_of(template) if v.number != version.number],
        "provider_label": selectors.PROVIDER_LABELS.get(template.provider, template.provider),
        "tab": "templates",
    }
    return render(request, "catalog/version_detail.html", context, status=status)


@admin_page
@require_http_methods(["GET", "HEAD"])
def admin_version(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    template = _template_or_404(request, slug)
    return _render_version(request, _version_or_404(request, template, number))


@admin_page
@require_POST
def admin_version_publish(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    template = _template_or_404(request, slug)
    version = _version_or_404(request, template, number)
    try:
        services.publish_version(request.user, version)
    except services.BaselineViolation as exc:
        version.refresh_from_db()
        return _render_version(request, version, refusal=exc, status=400)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("catalog:admin_version", slug=slug, number=number)
    messages.success(request, f"Published v{number}: new workspaces of “{template.name}” now use it.")
    return redirect("catalog:admin_template", slug=slug)


@admin_page
@require_POST
def admin_version_retire(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    template = _template_or_404(request, slug)
    version = _version_or_404(request, template, number)
    try:
        services.retire_version(request.user, version)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Retired v{number}: no new workspaces; existing ones keep running.")
    return redirect("catalog:admin_template", slug=slug)


@admin_page
@require_http_methods(["GET", "HEAD"])
def admin_version_diff(request: HttpRequest, slug: str) -> HttpResponse:
    """Two versions side by side, changed fields highlighted (defaults: the two newest)."""
    template = _template_or_404(request, slug)
    versions = list(selectors.versions_of(template))
    by_number = {v.number: v for v in versions}

    def pick(param: str, fallback: int) -> TemplateVersion | None:
        raw = request.GET.get(param, "")
        number = int(raw) if raw.isdigit() else fallback
        return by_number.get(number)

    newest = versions[0].number if versions else 0
    new = pick("b", newest)
    old = pick("a", versions[1].number if len(versions) > 1 else newest)
    if old is None or new is None:
        raise not_found(request, reason="No such template version.", target=template)
    rows = selectors.version_diff(old, new)
    only_changes = request.GET.get("all") != "1"
    context = {
        "template": template,
        "old": old,
        "new": new,
        "rows": [r for r in rows if r.changed] if only_changes else rows,
        "changed_count": sum(1 for r in rows if r.changed),
        "only_changes": only_changes,
        "numbers": [v.number for v in versions],
        "tab": "templates",
    }
    return render(request, "catalog/version_diff.html", context)


# --- admin: baseline, prices, quotas -------------------------------------------------------------------


@admin_page
@require_http_methods(["GET", "HEAD", "POST"])
def admin_baseline(request: HttpRequest) -> HttpResponse:
    current = baseline_rules.current_baseline()
    status = 200
    if request.method == "POST":
        form = BaselineForm(request.POST)
        if form.is_valid():
            values = form.values()
            try:
                policy = services.change_baseline(request.user, **values)
            except DomainError as exc:
                apply_domain_error(exc, form)
            else:
                messages.success(request, f"Saved baseline v{policy.version}. New publications are checked against it.")
                return redirect("catalog:admin_baseline")
        status = 400
    else:
        form = BaselineForm(
            initial={
                "max_idle_minutes": current.max_idle_minutes,
                "max_volume_gb": current.max_volume_gb,
                "mandatory_tag_keys": "\n".join(current.mandatory_tag_keys),
                "allowed_instance_types": "\n".join(current.allowed_instance_types),
                "allowed_vm_sizes": "\n".join(current.allowed_vm_sizes),
            }
        )
    context = {"form": form, "current": current, "history": selectors.baseline_history(), "tab": "baseline"}
    return render(request, "catalog/baseline.html", context, status=status)


def _setting_page(
    request: HttpRequest,
    form: forms.Form,
    save: Callable[[dict[str, Any]], str],
    *,
    done_url: str,
    template_name: str,
    context: Callable[[], dict[str, Any]],
) -> HttpResponse:
    """A catalog admin page whose one form sets one row (a price, a quota).

    A valid POST goes through ``save`` (the service call, returning the confirmation to show) and
    redirects to ``done_url``; an invalid form or a refused save is shown again with 400. ``context``
    is only built when the page is rendered, so a successful save queries nothing more.
    """
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                message = save(form.cleaned_data)
            except DomainError as exc:
                apply_domain_error(exc, form)
            else:
                messages.success(request, message)
                return redirect(done_url)
        status = 400
    return render(request, template_name, {"form": form, **context()}, status=status)


@admin_page
@require_http_methods(["GET", "HEAD", "POST"])
def admin_prices(request: HttpRequest) -> HttpResponse:
    def save(values: dict[str, Any]) -> str:
        row = services.set_price(request.user, **values)
        return f"Saved the price of {row.size}."

    return _setting_page(
        request,
        PriceForm(request.POST or None, initial={"currency": "EUR"}),
        save,
        done_url="catalog:admin_prices",
        template_name="catalog/prices.html",
        context=lambda: {"prices": selectors.price_table(), "labels": selectors.PROVIDER_LABELS, "tab": "prices"},
    )


@admin_page
@require_http_methods(["GET", "HEAD", "POST"])
def admin_quotas(request: HttpRequest) -> HttpResponse:
    def save(values: dict[str, Any]) -> str:
        row = services.set_role_quota(request.user, **values)
        return f"Saved the quota for {Role(row.role).label}."

    return _setting_page(
        request,
        QuotaForm(request.POST or None),
        save,
        done_url="catalog:admin_quotas",
        template_name="catalog/quotas.html",
        context=lambda: {"quotas": selectors.role_quotas(), "default": selectors.DEFAULT_QUOTA, "tab": "quotas"},
    )
