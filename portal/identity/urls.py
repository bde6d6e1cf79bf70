"""OIDC login and callback through Enclave's adapter (cached discovery, verified ID tokens), and
the SAML ACS's second step through ``EnclaveSAMLProvider`` (replays refused). Same paths and
names as allauth's, listed before ``allauth.urls`` so they take precedence."""

from django.urls import path

from portal.identity import oidc, saml

urlpatterns = [
    path("oidc/<str:provider_id>/login/", oidc.login, name="openid_connect_login"),
    path("oidc/<str:provider_id>/login/callback/", oidc.callback, name="openid_connect_callback"),
    path("saml/<str:organization_slug>/acs/finish/", saml.finish_acs, name="saml_finish_acs"),
]
