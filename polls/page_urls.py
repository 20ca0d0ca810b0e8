from django.urls import path

from . import pages
from .urls import JoinCodeConverter  # noqa: F401  (registers the "code" converter)

urlpatterns = [
    path("", pages.home, name="page-home"),
    path("p/<code:poll_id>/", pages.vote_page, name="page-vote"),
    path("p/<code:poll_id>/present/", pages.present_page, name="page-present"),
    path("p/<code:poll_id>/embed/", pages.embed_page, name="page-embed"),
    path("p/<code:poll_id>/qr.svg", pages.qr_svg, name="page-qr"),
    path("p/<code:poll_id>/invites/sheet/", pages.invite_sheet, name="page-invite-sheet"),
    path("e/<code:event_id>/", pages.event_page, name="page-event"),
    path("e/<code:event_id>/present/", pages.event_present_page, name="page-event-present"),
    path("e/<code:event_id>/embed/", pages.event_embed_page, name="page-event-embed"),
    path("e/<code:event_id>/qr.svg", pages.event_qr_svg, name="page-event-qr"),
    path("dashboard/", pages.dashboard, name="page-dashboard"),
    path("favicon.ico", pages.favicon, name="favicon"),  # for clients that ask without a <link>
]
