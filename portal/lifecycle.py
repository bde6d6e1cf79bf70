"""The identity lifecycle seam: signals ``portal`` sends when the IdP says someone left,
came back or changed roles, so the apps above (workspaces, approvals) can act without
``portal`` importing them. Receivers are connected in each app's ``AppConfig.ready()``.

Signals are sent *inside* the leaver/mover transaction: receivers change state and audit
in that transaction and schedule cloud work with ``transaction.on_commit``, so either the
whole leaver handling commits or none of it does.
"""

from __future__ import annotations

from django.dispatch import Signal

# user: the deactivated portal user (already ``is_active=False``); actor_label: who acted,
# e.g. "scim:entra" (the audit trail's system actor).
user_deactivated = Signal()
# user: the reactivated user; actor_label as above. Receivers must never restore grants.
user_reactivated = Signal()
# user; lost / gained: frozensets of core.roles.Role; actor_label as above.
roles_changed = Signal()
