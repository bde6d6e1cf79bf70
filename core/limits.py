"""Upper bounds of free text, shared by models, forms and API serializers so that a field refuses
the same length everywhere (a justification is not unbounded at the API and bounded on the page)."""

from __future__ import annotations

JUSTIFICATION_MAX = 4000
COMMENT_MAX = 2000
DESCRIPTION_MAX = 4000
CHANGELOG_MAX = 4000
