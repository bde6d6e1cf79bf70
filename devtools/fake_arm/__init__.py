"""A fake Azure Resource Manager on loopback for tests and the embedded demo (never imported by product code)."""

from devtools.fake_arm.server import DEFAULT_TOKEN, FakeArmHandle, start_fake_arm

__all__ = ["DEFAULT_TOKEN", "FakeArmHandle", "start_fake_arm"]
