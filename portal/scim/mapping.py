"""SCIM resources ↔ Enclave rows, built on scim2-models (RFC 7643 models, RFC 7644 PATCH and
filters): what a User or Group payload means for a portal user, how a stored record is shown,
and how a filter becomes a database query."""

from __future__ import annotations

from typing import Annotated, Any

import email_validator
from django.db.models import Q, QuerySet
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    GroupMember,
    Meta,
    Mutability,
    Patch,
    Returned,
    ScimFilter,
    ScimPolicy,
    ServiceProviderConfig,
    Sort,
    User,
)
from scim2_models.path import AttrPath, CompareOperator, Comparison, LogicalExpr, LogicalOperator, Not, Present

from portal.models import ScimGroup, ScimUser

# scim2-models validates e-mails with email-validator, which refuses special-use domains. Many
# banks' directories still hold addresses in an Active Directory ``.local`` domain, and a user's
# provisioning (and so their leaver handling) must not fail on it: here an e-mail is profile
# data, never an identifier. Nothing else in the project validates e-mail with this library.
if "local" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
    email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("local")


class EnclaveUser(User):
    """The core User schema, with ``externalId`` immutable: it is the IdP's object id, the
    subject of the identity the person signs in with, so it is set once and never moved to
    someone else (RFC 7643 §7 ``immutable``: set by the client once, then only compared)."""

    external_id: Annotated[str | None, Mutability.immutable, Returned.default, CaseExact.true] = None


UserResource = EnclaveUser[EnterpriseUser]  # type: ignore[type-arg]
MAX_RESULTS = 200
# What Entra ID and Okta send beyond the strict RFC: attribute paths as PATCH value keys (no
# setting needed), ``remove`` with a value that selects members (Entra), a filter path that
# matches nothing on add/replace creating the entry (Entra's emails[type eq "work"].value),
# attributes of schemas we do not model (ignored, never stored as meaning anything).
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


class UnsupportedFilter(Exception):
    """A filter this service provider does not evaluate (answered 400 invalidFilter)."""


def service_provider_config(base_url: str) -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="A per-connection token from `manage.py scim_token create NAME`.",
                primary=True,
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{base_url}/ServiceProviderConfig"),
    )


# --- users -------------------------------------------------------------------------------------


def user_profile(resource: Any) -> dict[str, Any]:
    """The portal user's profile fields a User resource carries."""
    email = ""
    emails = resource.emails or []
    primary = [e for e in emails if e.primary] or emails
    if primary and primary[0].value:
        email = str(primary[0].value)
    name = resource.name
    enterprise = resource[EnterpriseUser] if EnterpriseUser in type(resource).get_extension_models().values() else None
    return {
        "email": email,
        "first_name": (name.given_name if name else "") or "",
        "last_name": (name.family_name if name else "") or "",
        "display_name": resource.display_name or (name.formatted if name else "") or "",
        "cost_centre": (enterprise.cost_center if enterprise else "") or "",
    }


def stored_user(resource: Any) -> dict[str, Any]:
    """What is kept of a User payload: the representation the IdP sent, minus id and meta
    (ours) and the password (never kept)."""
    data = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    for key in ("id", "meta", "password"):
        data.pop(key, None)
    return data


def user_resource(scim_user: ScimUser, base_url: str) -> Any:
    data = {**scim_user.resource}
    data.update(
        id=str(scim_user.pk),
        externalId=scim_user.external_id or None,
        userName=scim_user.user_name,
        meta={
            "resourceType": "User",
            "created": scim_user.created_at.isoformat(),
            "lastModified": scim_user.updated_at.isoformat(),
            "location": f"{base_url}/Users/{scim_user.pk}",
        },
    )
    data["groups"] = [
        {"value": str(g.pk), "display": g.display_name, "$ref": f"{base_url}/Groups/{g.pk}", "type": "direct"}
        for g in scim_user.groups.all()
    ]
    return UserResource.model_validate(data, scim_ctx=Context.RESOURCE_QUERY_RESPONSE, scim_policy=POLICY)


# --- groups ------------------------------------------------------------------------------------


def group_resource(group: ScimGroup, base_url: str) -> Group:
    sent = {str(m.get("value")): m for m in (group.resource or {}).get("members") or [] if isinstance(m, dict)}
    members = [
        GroupMember.model_validate(
            {
                "value": str(m.pk),
                "display": (sent.get(str(m.pk)) or {}).get("display") or m.user_name,
                "type": "User",
                "$ref": f"{base_url}/Users/{m.pk}",
            }
        )
        for m in group.members.all()
    ]
    extra = {k: v for k, v in (group.resource or {}).items() if k not in ("members", "id", "meta", "schemas")}
    return Group.model_validate(
        {
            **extra,
            "schemas": [str(Group.__schema__)],
            "id": str(group.pk),
            "externalId": group.external_id or None,
            "displayName": group.display_name,
            "members": [m.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE) for m in members] or None,
            "meta": {
                "resourceType": "Group",
                "created": group.created_at.isoformat(),
                "lastModified": group.updated_at.isoformat(),
                "location": f"{base_url}/Groups/{group.pk}",
            },
        },
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE,
        scim_policy=POLICY,
    )


def member_ids(group: Any) -> list[str]:
    return [str(m.value) for m in (group.members or []) if m.value]


# --- filters -> queries ------------------------------------------------------------------------

USER_COLUMNS = {
    "id": ("pk", True),
    "externalid": ("external_id", True),
    "username": ("user_name", False),
    "active": ("active", True),
    "meta.created": ("created_at", True),
    "meta.lastmodified": ("updated_at", True),
    "displayname": ("user__display_name", False),
    "emails.value": ("user__email", False),
    "emails": ("user__email", False),
    "name.givenname": ("user__first_name", False),
    "name.familyname": ("user__last_name", False),
}
GROUP_COLUMNS = {
    "id": ("pk", True),
    "externalid": ("external_id", True),
    "displayname": ("display_name", False),
    "members.value": ("members__pk", True),
    "members": ("members__pk", True),
    "meta.created": ("created_at", True),
    "meta.lastmodified": ("updated_at", True),
}
_LOOKUPS = {
    CompareOperator.eq: "exact", CompareOperator.co: "contains", CompareOperator.sw: "startswith",
    CompareOperator.ew: "endswith", CompareOperator.gt: "gt", CompareOperator.ge: "gte",
    CompareOperator.lt: "lt", CompareOperator.le: "lte",
}  # fmt: skip


def _column(attr_path: AttrPath, columns: dict[str, tuple[str, bool]]) -> tuple[str, bool]:
    if attr_path.uri and attr_path.uri.lower() not in (str(User.__schema__).lower(), str(Group.__schema__).lower()):
        raise UnsupportedFilter(f"filtering on {attr_path} is not supported")
    key = attr_path.attr.lower() + (f".{attr_path.sub_attr.lower()}" if attr_path.sub_attr else "")
    if key not in columns:
        raise UnsupportedFilter(f"filtering on {attr_path.attr} is not supported")
    return columns[key]


def _to_q(node: Any, columns: dict[str, tuple[str, bool]]) -> Q:
    if isinstance(node, LogicalExpr):
        terms = [_to_q(t, columns) for t in node.terms]
        q = terms[0]
        for term in terms[1:]:
            q = (q & term) if node.op == LogicalOperator.and_ else (q | term)
        return q
    if isinstance(node, Not):
        return ~_to_q(node.expr, columns)
    if isinstance(node, Present):
        column, _ = _column(node.attr_path, columns)
        return (
            Q(**{f"{column}__isnull": False}) & ~Q(**{column: ""})
            if "pk" not in column
            else Q(**{f"{column}__isnull": False})
        )
    if isinstance(node, Comparison):
        column, case_exact = _column(node.attr_path, columns)
        value = node.value
        if column in ("pk", "members__pk"):
            import uuid

            try:
                value = uuid.UUID(str(value))
            except ValueError:
                return Q(pk__in=[])
        if node.op == CompareOperator.ne:
            return ~Q(**{column: value})
        lookup = _LOOKUPS[node.op]
        if isinstance(value, str) and not case_exact:
            lookup = {"exact": "iexact", "contains": "icontains", "startswith": "istartswith",
                      "endswith": "iendswith"}.get(lookup, lookup)  # fmt: skip
        return Q(**{f"{column}__{lookup}": value})
    raise UnsupportedFilter("complex attribute filters are not supported")


def filtered(qs: QuerySet[Any], expression: str, *, resource: str) -> QuerySet[Any]:
    """``qs`` narrowed by a SCIM filter (RFC 7644 §3.4.2.2), parsed by scim2-models."""
    model = UserResource if resource == "User" else Group
    parsed = ScimFilter[model](expression)  # type: ignore[valid-type]
    columns = USER_COLUMNS if resource == "User" else GROUP_COLUMNS
    return qs.filter(_to_q(parsed.ast, columns)).distinct()
