"""SCIM 2.0 routes, mounted at /scim/v2/ (RFC 7644 §3.2). No trailing slashes: IdPs append
``/Users``, ``/Users/<id>`` to the base URL they are given."""

from __future__ import annotations

from django.urls import path

from portal.scim import views

app_name = "scim"

urlpatterns = [
    path("ServiceProviderConfig", views.service_provider_config, name="service_provider_config"),
    path("ResourceTypes", views.resource_types, name="resource_types"),
    path("ResourceTypes/<str:name>", views.resource_types, name="resource_type"),
    path("Schemas", views.schemas, name="schemas"),
    path("Schemas/<str:schema_id>", views.schemas, name="schema"),
    path(".search", views.root_search, name="search"),
    path("Users/.search", views.users_search, name="users_search"),
    path("Groups/.search", views.groups_search, name="groups_search"),
    path("Users", views.users, name="users"),
    path("Users/<str:pk>", views.user, name="user"),
    path("Groups", views.groups, name="groups"),
    path("Groups/<str:pk>", views.group, name="group"),
    path("<path:rest>", views.not_found, name="not_found"),
]
