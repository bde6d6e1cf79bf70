"""Identity data the portal keeps: the user (roles are groups, see ``core.roles``)
and personal API tokens (stored hashed, shown once)."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person signed in through SSO (or the demo's local login).

    ``entra_object_id`` comes from the IdP's ``oid`` claim and is what an Azure ML
    personal compute instance is assigned to.
    """

    display_name = models.CharField(max_length=200, blank=True)
    cost_centre = models.CharField(max_length=64, blank=True)
    entra_object_id = models.CharField(max_length=64, blank=True)
    # May use local password login when ENCLAVE_LOCAL_LOGIN_POLICY=break-glass (and only with TOTP).
    break_glass = models.BooleanField(default=False)

    class Meta:
        db_table = "portal_user"

    def __str__(self) -> str:
        return self.display_name or self.username


class PersonalToken(models.Model):
    """A personal API token. Only a SHA-256 digest is stored; the secret is shown once.

    A token acts with exactly its owner's current roles and object rights; it has an
    expiry and can be revoked. ``prefix`` is a public, unique handle for lookup.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # How the session that issued the token had passed MFA: "totp" (allauth), "idp" (the IdP's amr/acr),
    # or "" (it had not). A token of a user whose role needs MFA works only with a non-empty value.
    mfa_at_issue = models.CharField(max_length=8, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")), name="token_expires_after_creation"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Identity(models.Model):
    """Who an identity provider says someone is: (provider, issuer, subject), bound to one user.

    The subject is the claim configured as stable for the provider (``sub``, or ``oid`` for
    Entra ID). A user may have several identities (one per provider), but an identity is
    never attached to a user because some *other* claim (email, username, object id)
    matches: binding happens at the user's just-in-time creation, or by an explicit,
    audited link (admin, SCIM, or the user signing in to a second provider while signed in).
    ``claims`` is the last login's claims minus nonces, hashes and tokens.
    """

    provider = models.CharField(max_length=100)
    issuer = models.CharField(max_length=500, blank=True)
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="identities")
    claims = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "identities"
        ordering = ["provider", "subject"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "issuer", "subject"], name="identity_unique_per_issuer"),
            models.CheckConstraint(condition=~models.Q(subject=""), name="identity_subject_not_empty"),
        ]
        indexes = [models.Index(fields=["user", "provider"], name="identity_user_provider")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.subject}"


class Notification(models.Model):
    """An in-app notification: what happened, in a sentence, and a link to the item.

    Sent alongside e-mail (``portal.notifications.notify``); only its recipient sees it.
    """

    user = models.ForeignKey("portal.User", on_delete=models.CASCADE, related_name="notifications")
    text = models.CharField(max_length=300)
    link = models.CharField(max_length=500, blank=True, help_text="A path inside the portal.")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"], name="portal_notif_user_unread")]

    def __str__(self) -> str:
        return self.text


class ScimConnection(models.Model):
    """One identity provider's SCIM provisioning client (Entra ID, Okta), with its own bearer
    token. Only a SHA-256 digest of the token is stored; the secret is printed once by
    ``manage.py scim_token create``. Users it provisions are linked, by their IdP object id
    (SCIM ``externalId``), to identities of the SSO ``provider`` with ``issuer``."""

    name = models.SlugField(max_length=60, unique=True)
    provider = models.CharField(max_length=100, help_text="The SSO provider id whose identities SCIM users are.")
    issuer = models.CharField(
        max_length=500, blank=True, help_text="That provider's issuer, exactly as its ID tokens say."
    )
    token_prefix = models.CharField(max_length=16, unique=True, null=True, blank=True)
    token_digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def actor_label(self) -> str:
        """How the audit trail names this connection when it acts."""
        return f"scim:{self.name}"


class ScimUser(models.Model):
    """A user as one SCIM connection provisioned it: the SCIM ``id``, the IdP's ``externalId``
    (its object id, the subject of the linked identity), and the last representation it sent.
    A SCIM DELETE deactivates the user and hides the resource (``deleted_at``); the person
    and their history stay, because the audit trail and past decisions point at them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connection = models.ForeignKey(ScimConnection, on_delete=models.PROTECT, related_name="users")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="scim_records")
    external_id = models.CharField(max_length=255, blank=True, help_text="Empty: no identity linked, no SSO sign-in.")
    user_name = models.CharField(max_length=255)
    active = models.BooleanField(default=True)
    resource = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "external_id"],
                condition=~models.Q(external_id=""),
                name="scim_user_external_id_unique",
            ),
            models.UniqueConstraint(fields=["connection", "user"], name="scim_user_one_per_connection"),
        ]
        indexes = [models.Index(fields=["connection", "user_name"], name="scim_user_user_name")]

    def __str__(self) -> str:
        return f"{self.connection_id}:{self.user_name}"


class ScimGroup(models.Model):
    """A group one SCIM connection pushes, with its members. Its ``external_id`` or
    ``display_name`` maps to a role through the provider's role mapping."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connection = models.ForeignKey(ScimConnection, on_delete=models.PROTECT, related_name="groups")
    display_name = models.CharField(max_length=255)
    external_id = models.CharField(max_length=255, blank=True)
    members = models.ManyToManyField(ScimUser, related_name="groups", blank=True)
    resource = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["connection", "display_name"], name="scim_group_display_name")]

    def __str__(self) -> str:
        return self.display_name
