"""The before/after diff an audit event carries when an edit changes some fields of an object.

Kept apart from ``audit.services`` so any app's services can describe an edit the same way without
pulling in the recording machinery.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The names of the fields whose value differs, sorted so the event reads the same every time.

    Every key of ``after`` must be in ``before``: both are snapshots of the same fields.
    """
    return sorted(name for name in after if after[name] != before[name])


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """An edit as an auditor reads it: which fields changed, and only those fields' old and new values.

    ``{"changed": [...], "before": {...}, "after": {...}}``; unchanged fields are left out so the
    event shows at a glance what the edit did.
    """
    changed = changed_fields(before, after)
    return {
        "changed": changed,
        "before": {name: before[name] for name in changed},
        "after": {name: after[name] for name in changed},
    }
