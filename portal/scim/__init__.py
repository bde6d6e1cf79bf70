"""SCIM 2.0 provisioning (RFC 7643/7644) for identity providers: Users and Groups per IdP
connection, leavers and movers handled at once (see docs/scim.md)."""
