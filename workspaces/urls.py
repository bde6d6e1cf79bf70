"""Pages of the workspaces app."""

from django.urls import path

from workspaces import views

app_name = "workspaces"
# The workspace lifecycle: a scientist's workspaces, requests, actions; the fleet.
urlpatterns = [
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
