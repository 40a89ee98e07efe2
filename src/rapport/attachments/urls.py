from django.urls import path

from . import views

app_name = "attachments"
urlpatterns = [
    path("files/upload/", views.upload, name="upload"),
    path("files/trash/", views.trash, name="trash"),
    path("files/trash/restore/", views.trash_restore, name="trash_restore"),
    path("files/<uuid:attachment_id>/", views.serve, name="serve"),
    path("files/<uuid:attachment_id>/delete/", views.delete, name="delete"),
    path("files/of/<str:target_type>/<uuid:target_id>/", views.files, name="files"),
]
