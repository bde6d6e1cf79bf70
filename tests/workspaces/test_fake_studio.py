"""The fake ARM's Azure ML studio stand-in: the owner's deep link becomes a short-lived link bound to
the compute and its assigned user; anything else is refused."""

from __future__ import annotations

import ssl
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from devtools.fake_arm import FakeArmHandle
from tests.fixtures.azure import OWNER_OBJECT_ID, make_spec
from workspaces.backends.azureml import AzureMLBackend, StaticTokenCredential


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.fixture
def studio(clean_fake_arm: FakeArmHandle) -> tuple[FakeArmHandle, AzureMLBackend]:
    backend = AzureMLBackend(
        arm_endpoint=clean_fake_arm.url,
        credential=StaticTokenCredential(clean_fake_arm.token),
        connection_verify=clean_fake_arm.ca_path,
        tenant_id="72f988bf-0000-4000-8000-00000000e1c1",
        studio_url=f"{clean_fake_arm.url}/studio",
    )
    return clean_fake_arm, backend


def _get(fake: FakeArmHandle, url: str, *, follow: bool = True) -> tuple[int, str, str]:
    context = ssl.create_default_context(cafile=fake.ca_path)
    handlers: list[Any] = [urllib.request.HTTPSHandler(context=context)]
    if not follow:
        handlers.append(_NoRedirect())
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, response.geturl(), response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Location", ""), err.read().decode()


def test_the_owners_studio_link_lands_on_a_page_naming_the_compute_and_its_assigned_user(studio: Any) -> None:
    fake, backend = studio
    ref = backend.provision(make_spec())

    status, landed, body = _get(fake, backend.open_url(ref, username="sam.scientist", session_seconds=900))

    assert status == 200
    assert landed.startswith(f"{fake.url}/studio/landing?link=")
    assert ref.resource_name in body
    assert OWNER_OBJECT_ID in body


def test_a_tampered_studio_link_is_refused(studio: Any) -> None:
    fake, backend = studio
    ref = backend.provision(make_spec())
    _, location, _ = _get(fake, backend.open_url(ref, username="sam.scientist", session_seconds=900), follow=False)
    payload, _, signature = location.split("link=", 1)[1].partition(".")

    status, _, body = _get(fake, f"{fake.url}/studio/landing?link={payload}x.{signature}")

    assert status == 401
    assert ref.resource_name not in body


def test_an_expired_studio_link_is_refused(studio: Any) -> None:
    fake, backend = studio
    ref = backend.provision(make_spec())
    claims = {"compute": ref.resource_name, "workspace": "w", "assigned_user": OWNER_OBJECT_ID, "tenant": "t"}
    expired = fake.state.studio_links.mint(claims, now=time.time() - 3600)

    status, _, _ = _get(fake, f"{fake.url}/studio/landing?link={expired}")

    assert status == 401


def test_a_studio_link_for_a_compute_that_does_not_exist_is_not_found(studio: Any) -> None:
    fake, backend = studio
    ref = backend.provision(make_spec())
    url = backend.open_url(ref, username="sam.scientist", session_seconds=900).replace(ref.resource_name, "nobody-else")

    status, _, _ = _get(fake, url)

    assert status == 404


def test_the_studio_pages_are_also_served_over_plain_http_on_loopback_and_nothing_else_is(studio: Any) -> None:
    from devtools.fake_arm.server import start_studio

    fake, _ = studio
    studio_url, stop = start_studio(fake, 0)
    try:
        plain = AzureMLBackend(
            arm_endpoint=fake.url,
            credential=StaticTokenCredential(fake.token),
            connection_verify=fake.ca_path,
            tenant_id="72f988bf-0000-4000-8000-00000000e1c1",
            studio_url=studio_url,
        )
        ref = plain.provision(make_spec())
        with urllib.request.urlopen(plain.open_url(ref, username="sam", session_seconds=60), timeout=5) as page:
            body = page.read().decode()
        with pytest.raises(urllib.error.HTTPError) as arm:
            urllib.request.urlopen(studio_url.replace("/studio", "/subscriptions"), timeout=5)
    finally:
        stop()
    assert OWNER_OBJECT_ID in body
    assert arm.value.code == 404
