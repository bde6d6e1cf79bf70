"""Pages of the catalog: browsing, and the catalog admin pages under manage/."""

from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("manage/", views.admin_templates, name="admin_templates"),
    path("manage/templates/new", views.admin_template_create, name="admin_template_create"),
    path("manage/templates/<slug:slug>/", views.admin_template, name="admin_template"),
    path("manage/templates/<slug:slug>/edit", views.admin_template_edit, name="admin_template_edit"),
    path("manage/templates/<slug:slug>/diff", views.admin_version_diff, name="admin_version_diff"),
    path("manage/templates/<slug:slug>/v<int:number>/", views.admin_version, name="admin_version"),
    path(
        "manage/templates/<slug:slug>/v<int:number>/publish",
        views.admin_version_publish,
        name="admin_version_publish",
    ),
    path(
        "manage/templates/<slug:slug>/v<int:number>/retire",
        views.admin_version_retire,
        name="admin_version_retire",
    ),
    path("manage/baseline", views.admin_baseline, name="admin_baseline"),
    path("manage/prices", views.admin_prices, name="admin_prices"),
    path("manage/quotas", views.admin_quotas, name="admin_quotas"),
]
