from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from brokercrm.accounts.api.views import ClientTokenCurrentView, MeView
from identity.api.logins import ClientProfileLoginViewSet, ClientTokenView

from . import views

api_v1 = [
    path("me", MeView.as_view(), name="me"),
    path("client-tokens", ClientTokenView.as_view(), name="client-tokens"),
    path("client-tokens/current", ClientTokenCurrentView.as_view(), name="client-token-current"),
    re_path(
        r"^client-profiles/(?P<pk>[0-9]{1,18})/login$",
        ClientProfileLoginViewSet.as_view({"post": "create"}),
        name="client-profile-login",
    ),
    path("", include("entities.api.urls")),
    path("", include("identity.api.urls")),
    path("", include("wallets.api.urls")),
    path("", include("kyc.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("platforms.api.urls")),
    path("", include("audit.api.urls")),
    path("", include("ib.api.urls")),
    path("", include("brokercrm.notifications.api.urls")),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    # A brand's host (or /b/<brand>/) is the client portal; anywhere else "/" is staff's.
    path("", include("portal.urls")),
]

handler404 = "brokercrm.views.handler404"
handler500 = "brokercrm.views.handler500"
