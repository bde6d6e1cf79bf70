"""The one registry of audit actions: dotted, past-tense facts.

``audit.services.record`` refuses an action that is not listed here, so the
vocabulary an auditor searches on cannot drift. Add new actions here, grouped by
the object they are about.
"""

from __future__ import annotations

import enum


class Action(enum.StrEnum):
    # Authentication and identity
    AUTH_LOGIN = "auth.login"
    AUTH_LOGOUT = "auth.logout"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_LOCKED_OUT = "auth.locked_out"
    AUTH_SESSION_EXPIRED = "auth.session_expired"
    AUTH_SSO_FAILED = "auth.sso_failed"
    AUTH_NO_ACCESS = "auth.no_access"
    AUTH_MFA_ENABLED = "auth.mfa_enabled"
    AUTH_MFA_DISABLED = "auth.mfa_disabled"
    AUTH_MFA_VERIFIED = "auth.mfa_verified"
    AUTH_MFA_FAILED = "auth.mfa_failed"
    AUTH_MFA_RESET = "auth.mfa_reset"  # recovery codes regenerated
    AUTH_MFA_REQUIRED = "auth.mfa_required"
    AUTH_IDENTITY_CONFLICT = "auth.identity_conflict"  # a login asserted an identity bound elsewhere (security)
    AUTH_GROUPS_OVERAGE = "auth.groups_overage"  # the IdP sent an overage marker instead of the groups
    IDENTITY_LINKED = "identity.linked"
    IDENTITY_UNLINKED = "identity.unlinked"
    AUTH_TOKEN_REJECTED = "auth.token_rejected"  # forged, revoked or expired API token
    AUTH_TOKEN_MFA_REQUIRED = "auth.token_mfa_required"  # token refused: its user's role needs MFA it lacks
    AUTH_CSRF_FAILED = "auth.csrf_failed"
    AUTH_THROTTLED = "auth.throttled"  # a rate limit answered 429
    AUTH_REFUSALS_SUPPRESSED = "auth.refusals_suppressed"  # flood bound reached: later refusals not recorded one by one
    USER_CREATED = "user.created"
    USER_ROLES_CHANGED = "user.roles_changed"
    API_TOKEN_CREATED = "api_token.created"
    API_TOKEN_REVOKED = "api_token.revoked"
    # Identity lifecycle from the IdP (SCIM): leavers, movers, re-joiners
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    USER_SESSIONS_ENDED = "user.sessions_ended"
    SCIM_USER_PROVISIONED = "scim_user.provisioned"
    SCIM_USER_UPDATED = "scim_user.updated"
    SCIM_USER_DELETED = "scim_user.deleted"
    SCIM_GROUP_CREATED = "scim_group.created"
    SCIM_GROUP_UPDATED = "scim_group.updated"
    SCIM_GROUP_DELETED = "scim_group.deleted"
    SCIM_TOKEN_CREATED = "scim_token.created"
    SCIM_TOKEN_REVOKED = "scim_token.revoked"
    SCIM_AUTH_FAILED = "scim.auth_failed"
    # Generic authorisation outcome (any view, endpoint or task)
    ACCESS_DENIED = "access.denied"
    # Catalog
    TEMPLATE_CREATED = "template.created"
    TEMPLATE_UPDATED = "template.updated"
    TEMPLATE_VERSION_CREATED = "template_version.created"
    TEMPLATE_VERSION_UPDATED = "template_version.updated"
    TEMPLATE_VERSION_PUBLISHED = "template_version.published"
    TEMPLATE_VERSION_PUBLISH_REFUSED = "template_version.publish_refused"
    TEMPLATE_VERSION_RETIRED = "template_version.retired"
    BASELINE_CHANGED = "baseline.changed"
    QUOTA_CHANGED = "quota.changed"
    PRICE_CHANGED = "price.changed"
    # Workspaces
    WORKSPACE_REQUESTED = "workspace.requested"
    WORKSPACE_REQUEST_REFUSED = "workspace.request_refused"
    WORKSPACE_APPROVAL_REQUESTED = "workspace.approval_requested"
    WORKSPACE_APPROVED = "workspace.approved"
    WORKSPACE_REJECTED = "workspace.rejected"
    WORKSPACE_REQUEST_CANCELLED = "workspace.request_cancelled"  # approval withdrawn or timed out
    WORKSPACE_PROVISIONING = "workspace.provisioning"
    WORKSPACE_RUNNING = "workspace.running"
    WORKSPACE_STOP_REQUESTED = "workspace.stop_requested"
    WORKSPACE_STOPPED = "workspace.stopped"
    WORKSPACE_START_REQUESTED = "workspace.start_requested"
    WORKSPACE_DELETE_REQUESTED = "workspace.delete_requested"
    WORKSPACE_DELETED = "workspace.deleted"
    WORKSPACE_FAILED = "workspace.failed"
    WORKSPACE_RETRIED = "workspace.retried"
    WORKSPACE_OPENED = "workspace.opened"
    WORKSPACE_DRIFT_DETECTED = "workspace.drift_detected"
    WORKSPACE_STATE_RECONCILED = "workspace.state_reconciled"
    # Datasets, access requests and grants
    DATASET_CREATED = "dataset.created"
    DATASET_UPDATED = "dataset.updated"
    APPROVAL_POLICY_CREATED = "approval_policy.created"
    APPROVAL_POLICY_UPDATED = "approval_policy.updated"
    ACCESS_REQUEST_CREATED = "access_request.requested"
    ACCESS_REQUEST_APPROVAL_RECORDED = "access_request.approval_recorded"
    ACCESS_REQUEST_APPROVED = "access_request.approved"
    ACCESS_REQUEST_DENIED = "access_request.denied"
    ACCESS_REQUEST_WITHDRAWN = "access_request.withdrawn"
    ACCESS_REQUEST_TIMED_OUT = "access_request.timed_out"
    ACCESS_REQUEST_REMINDED = "access_request.reminded"
    ACCESS_REQUEST_ESCALATED = "access_request.escalated"
    ACCESS_REQUEST_REROUTED = "access_request.rerouted"  # an approver it waited on left or lost the role
    ACCESS_REQUEST_REFUSED = "access_request.request_refused"
    ACCESS_REQUEST_DECISION_REFUSED = "access_request.decision_refused"
    GRANT_APPLIED = "grant.applied"
    GRANT_APPLY_FAILED = "grant.apply_failed"
    GRANT_EXPIRY_WARNED = "grant.expiry_warned"
    GRANT_EXPIRED = "grant.expired"
    GRANT_REVOKED = "grant.revoked"
    GRANT_REMOVED = "grant.removed"
    GRANT_REMOVE_FAILED = "grant.remove_failed"
    # Access reviews (periodic re-certification of grants) and the access report
    ACCESS_REVIEW_CREATED = "access_review.created"
    ACCESS_REVIEW_STARTED = "access_review.started"
    ACCESS_REVIEW_REMINDED = "access_review.reminded"
    ACCESS_REVIEW_ESCALATED = "access_review.escalated"
    ACCESS_REVIEW_CLOSED = "access_review.closed"
    ACCESS_REVIEW_REFUSED = "access_review.refused"
    REVIEW_ITEM_CERTIFIED = "review_item.certified"
    REVIEW_ITEM_REVOKED = "review_item.revoked"
    REVIEW_ITEM_DECISION_REFUSED = "review_item.decision_refused"
    REVIEW_ITEM_DEFAULTED = "review_item.defaulted"  # no answer by the deadline: kept or revoked by default
    ACCESS_REPORT_EXPORTED = "access_report.exported"
    # The audit trail itself
    AUDIT_VERIFIED = "audit.verified"
    AUDIT_VERIFY_FAILED = "audit.verify_failed"
    AUDIT_EXPORTED = "audit.exported"
    AUDIT_CHECKPOINTED = "audit.checkpointed"  # a signed checkpoint was written to the external sink
    AUDIT_CHECKPOINT_FAILED = "audit.checkpoint_failed"
    AUDIT_SIGNING_KEY_INTRODUCED = "audit.signing_key_introduced"
    AUDIT_EVIDENCE_PACK_CREATED = "audit.evidence_pack_created"
    # Operations
    DEMO_SEEDED = "system.demo_seeded"


class Outcome(enum.StrEnum):
    SUCCESS = "success"
    DENIED = "denied"
    ERROR = "error"
