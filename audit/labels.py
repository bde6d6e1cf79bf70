"""People's words for audit actions and actors, grouped by area for the audit filter.

The dotted codes (``workspace.requested``) stay in the trail and in exports; pages show these
labels and keep the code in a tooltip for auditors. Every ``Action`` has a label (a test holds
the registry to that).
"""

from __future__ import annotations

from audit.actions import Action
from core.labels import humanise

A = Action

# (area, [(action, label), ...]) in the order the audit filter lists them.
AREAS: list[tuple[str, list[tuple[Action, str]]]] = [
    (
        "Sign-in and accounts",
        [
            (A.AUTH_LOGIN, "Signed in"),
            (A.AUTH_LOGOUT, "Signed out"),
            (A.AUTH_LOGIN_FAILED, "Sign-in failed"),
            (A.AUTH_LOCKED_OUT, "Locked out after failed sign-ins"),
            (A.AUTH_SESSION_EXPIRED, "Session expired"),
            (A.AUTH_SSO_FAILED, "Single sign-on failed"),
            (A.AUTH_NO_ACCESS, "Signed in without a role"),
            (A.AUTH_MFA_ENABLED, "Two-factor authentication turned on"),
            (A.AUTH_MFA_DISABLED, "Two-factor authentication turned off"),
            (A.AUTH_MFA_VERIFIED, "Two-factor check passed"),
            (A.AUTH_MFA_FAILED, "Two-factor check failed"),
            (A.AUTH_MFA_RESET, "Recovery codes regenerated"),
            (A.AUTH_MFA_REQUIRED, "Two-factor authentication required"),
            (A.USER_CREATED, "User created"),
            (A.USER_ROLES_CHANGED, "Roles changed"),
            (A.API_TOKEN_CREATED, "API token created"),
            (A.API_TOKEN_REVOKED, "API token revoked"),
            (A.ACCESS_DENIED, "Access refused"),
            (A.AUTH_IDENTITY_CONFLICT, "Sign-in refused: identity belongs to another provider"),
            (A.AUTH_GROUPS_OVERAGE, "Sign-in refused: too many groups sent by the identity provider"),
            (A.IDENTITY_LINKED, "Sign-in identity linked"),
            (A.IDENTITY_UNLINKED, "Sign-in identity unlinked"),
            (A.AUTH_TOKEN_REJECTED, "API token refused"),
            (A.AUTH_TOKEN_MFA_REQUIRED, "API token refused: two-factor authentication required"),
            (A.AUTH_CSRF_FAILED, "Request refused: cross-site check failed"),
            (A.AUTH_THROTTLED, "Request refused: rate limit"),
            (A.AUTH_REFUSALS_SUPPRESSED, "Further refusals summarised (flood limit)"),
            (A.USER_DEACTIVATED, "User deactivated (leaver)"),
            (A.USER_REACTIVATED, "User reactivated"),
            (A.USER_SESSIONS_ENDED, "User's sessions ended"),
            (A.SCIM_USER_PROVISIONED, "User provisioned by the identity provider"),
            (A.SCIM_USER_UPDATED, "User updated by the identity provider"),
            (A.SCIM_USER_DELETED, "User deleted by the identity provider"),
            (A.SCIM_GROUP_CREATED, "Group provisioned by the identity provider"),
            (A.SCIM_GROUP_UPDATED, "Group updated by the identity provider"),
            (A.SCIM_GROUP_DELETED, "Group deleted by the identity provider"),
            (A.SCIM_TOKEN_CREATED, "Provisioning token created"),
            (A.SCIM_TOKEN_REVOKED, "Provisioning token revoked"),
            (A.SCIM_AUTH_FAILED, "Provisioning call refused (bad token)"),
        ],
    ),
    (
        "Catalog",
        [
            (A.TEMPLATE_CREATED, "Template created"),
            (A.TEMPLATE_UPDATED, "Template updated"),
            (A.TEMPLATE_VERSION_CREATED, "Template version drafted"),
            (A.TEMPLATE_VERSION_UPDATED, "Template version edited"),
            (A.TEMPLATE_VERSION_PUBLISHED, "Template version published"),
            (A.TEMPLATE_VERSION_PUBLISH_REFUSED, "Publishing refused (baseline)"),
            (A.TEMPLATE_VERSION_RETIRED, "Template version retired"),
            (A.BASELINE_CHANGED, "Security baseline changed"),
            (A.QUOTA_CHANGED, "Quota changed"),
            (A.PRICE_CHANGED, "Price changed"),
        ],
    ),
    (
        "Workspaces",
        [
            (A.WORKSPACE_REQUESTED, "Workspace requested"),
            (A.WORKSPACE_REQUEST_REFUSED, "Workspace request refused"),
            (A.WORKSPACE_APPROVAL_REQUESTED, "Sent for approval"),
            (A.WORKSPACE_APPROVED, "Workspace approved"),
            (A.WORKSPACE_REJECTED, "Workspace rejected"),
            (A.WORKSPACE_REQUEST_CANCELLED, "Workspace request cancelled"),
            (A.WORKSPACE_PROVISIONING, "Building started"),
            (A.WORKSPACE_RUNNING, "Workspace running"),
            (A.WORKSPACE_STOP_REQUESTED, "Stop requested"),
            (A.WORKSPACE_STOPPED, "Workspace stopped"),
            (A.WORKSPACE_START_REQUESTED, "Start requested"),
            (A.WORKSPACE_DELETE_REQUESTED, "Delete requested"),
            (A.WORKSPACE_DELETED, "Workspace deleted"),
            (A.WORKSPACE_FAILED, "Workspace failed"),
            (A.WORKSPACE_RETRIED, "Retried"),
            (A.WORKSPACE_OPENED, "Notebook opened"),
            (A.WORKSPACE_DRIFT_DETECTED, "Drift from the template detected"),
            (A.WORKSPACE_STATE_RECONCILED, "State corrected from the cloud"),
        ],
    ),
    (
        "Data access",
        [
            (A.DATASET_CREATED, "Dataset created"),
            (A.DATASET_UPDATED, "Dataset updated"),
            (A.APPROVAL_POLICY_CREATED, "Approval policy created"),
            (A.APPROVAL_POLICY_UPDATED, "Approval policy updated"),
            (A.ACCESS_REQUEST_CREATED, "Access requested"),
            (A.ACCESS_REQUEST_APPROVAL_RECORDED, "Approval recorded"),
            (A.ACCESS_REQUEST_APPROVED, "Access approved"),
            (A.ACCESS_REQUEST_DENIED, "Access denied"),
            (A.ACCESS_REQUEST_WITHDRAWN, "Request withdrawn"),
            (A.ACCESS_REQUEST_TIMED_OUT, "Request timed out"),
            (A.ACCESS_REQUEST_REROUTED, "Request re-routed to other approvers"),
            (A.ACCESS_REVIEW_CREATED, "Access review campaign created"),
            (A.ACCESS_REVIEW_STARTED, "Access review started"),
            (A.ACCESS_REVIEW_REMINDED, "Access reviewers reminded"),
            (A.ACCESS_REVIEW_ESCALATED, "Access review escalated"),
            (A.ACCESS_REVIEW_CLOSED, "Access review closed"),
            (A.ACCESS_REVIEW_REFUSED, "Access review action refused"),
            (A.REVIEW_ITEM_CERTIFIED, "Access certified in review"),
            (A.REVIEW_ITEM_REVOKED, "Access revoked in review"),
            (A.REVIEW_ITEM_DECISION_REFUSED, "Review decision refused"),
            (A.REVIEW_ITEM_DEFAULTED, "Unanswered review item settled by default"),
            (A.ACCESS_REPORT_EXPORTED, "Access report exported"),
            (A.ACCESS_REQUEST_REMINDED, "Approvers reminded"),
            (A.ACCESS_REQUEST_ESCALATED, "Escalated to the fallback approvers"),
            (A.ACCESS_REQUEST_REFUSED, "Access request refused"),
            (A.ACCESS_REQUEST_DECISION_REFUSED, "A decision attempt was not accepted"),
            (A.GRANT_APPLIED, "Access granted in the cloud"),
            (A.GRANT_APPLY_FAILED, "Granting access failed"),
            (A.GRANT_EXPIRY_WARNED, "Expiry warning sent"),
            (A.GRANT_EXPIRED, "Access expired"),
            (A.GRANT_REVOKED, "Access revoked"),
            (A.GRANT_REMOVED, "Access removed in the cloud"),
            (A.GRANT_REMOVE_FAILED, "Removing access failed"),
        ],
    ),
    (
        "Audit trail and system",
        [
            (A.AUDIT_VERIFIED, "Audit trail verified"),
            (A.AUDIT_VERIFY_FAILED, "Audit trail verification failed"),
            (A.AUDIT_EXPORTED, "Audit trail exported"),
            (A.AUDIT_CHECKPOINTED, "Audit checkpoint signed and stored outside the database"),
            (A.AUDIT_CHECKPOINT_FAILED, "Audit checkpoint failed"),
            (A.AUDIT_SIGNING_KEY_INTRODUCED, "Audit signing key introduced"),
            (A.AUDIT_EVIDENCE_PACK_CREATED, "Evidence pack created"),
            (A.DEMO_SEEDED, "Demo data loaded"),
        ],
    ),
]

ACTION_LABELS: dict[str, str] = {str(action): label for _, actions in AREAS for action, label in actions}

# Actors that are not people: background tasks and schedules record themselves as ``task:<name>``.
SYSTEM_ACTORS: dict[str, str] = {
    "workspaces.poll": "status check",
    "workspaces.provision": "provisioning",
    "workspaces.reconcile": "reconciliation",
    "workspaces.sweep": "sweeper",
}


def action_label(code: object) -> str:
    key = str(code or "")
    return ACTION_LABELS.get(key) or humanise(key)


def actor_label(actor: object) -> str:
    """``task:workspaces.poll`` → ``Enclave (status check)``; people are shown as they are."""
    text = str(actor or "")
    if text.startswith(("task:", "system:", "beat:")):
        _, _, name = text.partition(":")
        return f"Enclave ({SYSTEM_ACTORS.get(name, humanise(name.rsplit('.', 1)[-1]).lower())})"
    return text or "Enclave"


OUTCOMES: dict[str, str] = {"success": "", "denied": "refused", "error": "failed"}


def outcome_label(outcome: object) -> str:
    """What to add after an action's label: nothing for success, "refused" or "failed" otherwise.
    (The raw word "denied" next to an approver's refused click read as a denial of the request.)"""
    key = str(outcome or "")
    return OUTCOMES.get(key, key)


def outcome_choice_label(outcome: str) -> str:
    return {"success": "Succeeded", "denied": "Refused", "error": "Failed"}.get(outcome, outcome)


def grouped_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """For a grouped <select>: [(area, [(code, label), ...]), ...]."""
    return [(area, [(str(action), label) for action, label in actions]) for area, actions in AREAS]
