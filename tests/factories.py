"""factory_boy factories for the domain objects tests build."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model

from portal.roles import Role, role_group


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@bank.example")
    display_name = factory.LazyAttribute(lambda o: o.username.replace(".", " ").title())
    cost_centre = "CC-1001"
    entra_object_id = factory.Faker("uuid4")
    password = factory.django.Password("correct-horse-battery-staple")

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **_: Any) -> None:
        if create and extracted:
            self.groups.add(*[role_group(Role(r)) for r in extracted])  # type: ignore[attr-defined]
