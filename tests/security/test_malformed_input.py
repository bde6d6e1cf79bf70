"""The four classes of input that used to give 500s — path ids shaped like a UUID that are not one,
pagination limits/offsets beyond the database's integer range, malformed cursors, numeric ids beyond
the integer range — are 400/404: JSON in the project's error shape on /api/, a styled page elsewhere.
Runs on PostgreSQL and again on SQLite (scripts/test.sh)."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import pytest

from portal.tokens import issue_token

pytestmark = pytest.mark.django_db

NOT_A_UUID = "0123456789abcdef-0123456789abcdef---"  # matches [0-9a-f-]{36}, is not a UUID
HUGE = "9" * 30  # beyond any database integer
BIGINT_PLUS_ONE = str(2**63)


def _bearer(user: Any) -> dict[str, str]:
    _, secret = issue_token(user, name="fuzz", days=1, mfa_at_issue="idp")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _cursor(query: str) -> str:
    return quote(base64.b64encode(query.encode()).decode())


def _assert_json_error(response: Any, status: tuple[int, ...]) -> None:
    assert response.status_code in status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert "detail" in body or any(isinstance(v, list) for v in body.values())


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/workspaces/{NOT_A_UUID}",
        f"/api/v1/workspaces/{NOT_A_UUID}/stop",
        f"/api/v1/access-requests/{NOT_A_UUID}",
        f"/api/v1/grants/{NOT_A_UUID}",
    ],
)
def test_an_api_path_id_shaped_like_a_uuid_but_not_one_is_a_json_404(client, scientist, auditor, url):
    user = auditor if "grants" in url else scientist
    method = client.post if url.endswith("/stop") else client.get

    response = method(url, **_bearer(user))

    _assert_json_error(response, (404,))


ENDPOINTS = ["/api/v1/workspaces", "/api/v1/access-requests", "/api/v1/templates", "/api/v1/datasets"]


@pytest.mark.parametrize(
    "params",
    [
        f"offset={HUGE}",
        f"offset={BIGINT_PLUS_ONE}",
        f"limit={HUGE}&offset={HUGE}",
        "limit=-1",
        "offset=abc",
        "limit=1e3",
    ],
)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_pagination_values_out_of_range_or_malformed_are_a_json_400(client, scientist, endpoint, params):
    response = client.get(f"{endpoint}?{params}", **_bearer(scientist))

    _assert_json_error(response, (400,))


@pytest.mark.parametrize("limit", [HUGE, BIGINT_PLUS_ONE, "9" * 5000])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_limit_beyond_the_integer_range_is_capped_not_a_500(client, scientist, endpoint, limit):
    response = client.get(f"{endpoint}?limit={limit}", **_bearer(scientist))

    assert response.status_code == 200
    assert len(response.json()["results"]) <= 200


def test_a_huge_limit_is_capped_at_the_max_limit(client, scientist):
    from tests.factories import WorkspaceFactory

    WorkspaceFactory.create_batch(3, owner=scientist)

    response = client.get(f"/api/v1/workspaces?limit={HUGE}", **_bearer(scientist))

    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


@pytest.mark.parametrize(
    "cursor", [_cursor("p=not-a-number"), _cursor("r=1&p=%00"), "%%%not-base64", _cursor("\x00\xff"), _cursor("p=1e5")]
)
def test_a_malformed_audit_cursor_is_a_json_4xx(client, auditor, cursor):
    response = client.get(f"/api/v1/audit-events?cursor={cursor}", **_bearer(auditor))

    _assert_json_error(response, (400, 404))


@pytest.mark.parametrize("cursor", [_cursor(f"p={HUGE}"), _cursor(f"o={HUGE}&p=5"), _cursor(f"p=-{HUGE}")])
def test_an_audit_cursor_beyond_the_integer_range_is_an_empty_page_or_a_4xx_never_a_500(client, auditor, cursor):
    response = client.get(f"/api/v1/audit-events?cursor={cursor}", **_bearer(auditor))

    assert response.status_code in (200, 400, 404)
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/audit-events/{HUGE}",
        f"/api/v1/audit-events/{BIGINT_PLUS_ONE}",
        f"/api/v1/templates/sagemaker-basic/versions/{HUGE}",
    ],
)
def test_an_api_numeric_id_beyond_the_integer_range_is_a_json_404(client, auditor, url):
    response = client.get(url, **_bearer(auditor))

    _assert_json_error(response, (404,))


@pytest.mark.parametrize(
    ("url", "role"),
    [
        (f"/audit/events/{HUGE}/", "auditor"),
        (f"/audit/events/{BIGINT_PLUS_ONE}/", "auditor"),
        (f"/access/policies/{HUGE}/edit", "catalog_admin"),
        (f"/catalog/manage/templates/anything/v{HUGE}/", "catalog_admin"),
    ],
)
def test_a_page_with_a_numeric_id_beyond_the_integer_range_is_a_styled_404(client, settings, url, role):
    from tests.factories import UserFactory

    settings.ENCLAVE_MFA_REQUIRED_ROLES = []
    client.force_login(UserFactory(roles=[role]))

    response = client.get(url)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b'data-testid="error-404"' in response.content
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response


def test_revoking_a_token_with_an_id_beyond_the_integer_range_is_a_styled_404(client, scientist):
    client.force_login(scientist)

    response = client.post(f"/profile/tokens/{HUGE}/revoke/")

    assert response.status_code == 404
    assert b'data-testid="error-404"' in response.content


def test_an_unknown_api_url_answers_json_not_an_html_page(client, scientist):
    response = client.get("/api/v1/no-such-thing", **_bearer(scientist))

    _assert_json_error(response, (404,))
    assert response.json()["error"] == "not_found"


def test_an_unknown_page_is_the_styled_404_without_framework_details(client, scientist):
    client.force_login(scientist)

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert b'data-testid="error-404"' in response.content
    assert b"Page not found" not in response.content
    assert b"URLconf" not in response.content
