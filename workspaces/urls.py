"""Pages of the workspaces app."""

from django.urls import path

from workspaces import catalog_views, views

app_name = "workspaces"
urlpatterns: list = []  # type: ignore[type-arg]

# The catalog (catalog_views): browsing, and the catalog admin pages under manage/.
urlpatterns += [
    path("", catalog_views.catalog, name="catalog"),
    path("manage/", catalog_views.admin_templates, name="admin_templates"),
    path("manage/templates/new", catalog_views.admin_template_create, name="admin_template_create"),
    path("manage/templates/<slug:slug>/", catalog_views.admin_template, name="admin_template"),
    path("manage/templates/<slug:slug>/edit", catalog_views.admin_template_edit, name="admin_template_edit"),
    path("manage/templates/<slug:slug>/diff", catalog_views.admin_version_diff, name="admin_version_diff"),
    path("manage/templates/<slug:slug>/v<int:number>/", catalog_views.admin_version, name="admin_version"),
    path(
        "manage/templates/<slug:slug>/v<int:number>/publish",
        catalog_views.admin_version_publish,
        name="admin_version_publish",
    ),
    path(
        "manage/templates/<slug:slug>/v<int:number>/retire",
        catalog_views.admin_version_retire,
        name="admin_version_retire",
    ),
    path("manage/baseline", catalog_views.admin_baseline, name="admin_baseline"),
    path("manage/prices", catalog_views.admin_prices, name="admin_prices"),
    path("manage/quotas", catalog_views.admin_quotas, name="admin_quotas"),
]

# The workspace lifecycle (views): a scientist's workspaces, requests, actions; the fleet.
urlpatterns += [
    path("workspaces/", views.my_workspaces, name="my_workspaces"),
    path("workspaces/rows", views.my_workspaces_rows, name="my_workspaces_rows"),
    path("request/<slug:slug>/", views.request_workspace, name="request"),
    path("workspaces/<uuid:pk>/", views.detail, name="detail"),
    path("workspaces/<uuid:pk>/live", views.detail_status, name="detail_live"),
    path("workspaces/<uuid:pk>/open", views.open_notebook, name="open"),
    path("workspaces/<uuid:pk>/stop", views.stop, name="stop"),
    path("workspaces/<uuid:pk>/start", views.start, name="start"),
    path("workspaces/<uuid:pk>/delete", views.delete, name="delete"),
    path("workspaces/<uuid:pk>/retry", views.retry, name="retry"),
    path("fleet/", views.fleet, name="fleet"),
]
