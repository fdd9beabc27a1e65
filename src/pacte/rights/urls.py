from django.urls import path

from pacte.rights import views

app_name = "rights"

urlpatterns = [
    path("account/data/", views.my_data, name="my_data"),
    path("account/data/<uuid:request_id>/download/", views.my_data_download, name="my_data_download"),
    path("account/delete/", views.delete_account, name="delete_account"),
]
