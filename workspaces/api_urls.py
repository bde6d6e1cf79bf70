"""REST API routes of the workspaces app."""

from rest_framework.routers import SimpleRouter

from workspaces import api

# The workspace lifecycle: /api/v1/workspaces[/<id>[/stop|/start|/delete|/retry|/open]].
_workspace_router = SimpleRouter(trailing_slash=False)
_workspace_router.register("workspaces", api.WorkspaceViewSet, basename="workspace")
urlpatterns = _workspace_router.urls
