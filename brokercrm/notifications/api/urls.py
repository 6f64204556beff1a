from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("me/notifications", views.MyNotificationViewSet, basename="my-notification")

urlpatterns = router.urls
