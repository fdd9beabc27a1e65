from django.urls import path

from pacte.sharing import views, views_staff

app_name = "sharing"

urlpatterns = [
    path("account/disclosures/", views.my_disclosures, name="my_disclosures"),
    # Requests from authorities (staff), and the public transparency page.
    path("staff/authority-requests/", views_staff.authority_requests, name="authority_requests"),
    path("staff/authority-requests/new/", views_staff.authority_request_new, name="authority_request_new"),
    path(
        "staff/authority-requests/<uuid:request_id>/",
        views_staff.authority_request_detail,
        name="authority_request",
    ),
    *[
        path(
            f"staff/authority-requests/<uuid:request_id>/{action}/",
            views_staff.authority_request_decide,
            {"action": action},
            name=f"authority_request_{action}",
        )
        for action in ("approve", "reject", "lift")
    ],
    path("privacy/transparency/", views.transparency, name="transparency"),
]
