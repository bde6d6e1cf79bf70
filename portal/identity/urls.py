"""OIDC login and callback through Enclave's adapter (cached discovery, verified ID tokens).
Same paths and names as allauth's, listed before ``allauth.urls`` so they take precedence."""

from django.urls import path

from portal.identity import oidc

urlpatterns = [
    path("oidc/<str:provider_id>/login/", oidc.login, name="openid_connect_login"),
    path("oidc/<str:provider_id>/login/callback/", oidc.callback, name="openid_connect_callback"),
]
