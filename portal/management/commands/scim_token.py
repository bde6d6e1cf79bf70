"""Create, rotate and revoke the bearer token of an IdP's SCIM connection.

manage.py scim_token create entra --provider entra   # prints the token once
manage.py scim_token create entra                    # rotates it: the old one stops working
manage.py scim_token revoke entra
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.scim import services


class Command(BaseCommand):
    help = "Create or rotate (create) or revoke (revoke) the SCIM bearer token of an IdP connection."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create the connection or rotate its token; prints the token once.")
        create.add_argument("name")
        create.add_argument("--provider", default="", help="SSO provider id whose identities SCIM users are.")
        create.add_argument("--issuer", default="", help="That provider's issuer (default: its configured URL).")
        revoke = sub.add_parser("revoke", help="Revoke the connection's token.")
        revoke.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        if options["action"] == "revoke":
            if not services.revoke_token(name):
                raise CommandError(f"No live SCIM token for {name!r}.")
            self.stdout.write(f"Revoked the SCIM token of {name}.")
            return
        try:
            connection, secret = services.create_or_rotate_token(
                name, provider=options["provider"], issuer=options["issuer"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        verb = "Rotated" if connection.rotated_at else "Created"
        self.stderr.write(
            f"{verb} the SCIM token of {name} (provider {connection.provider}, issuer {connection.issuer or '-'}). "
            "It is shown once; store it in the IdP's provisioning settings as the secret token."
        )
        self.stdout.write(secret)
