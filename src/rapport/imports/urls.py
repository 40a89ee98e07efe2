from django.urls import path

from . import views

app_name = "imports"
urlpatterns = [
    path("imports/", views.import_list, name="list"),
    path("imports/new/", views.import_new, name="new"),
    path("imports/<uuid:job_id>/", views.import_detail, name="detail"),
    path("imports/<uuid:job_id>/map/", views.import_map, name="map"),
    path("imports/<uuid:job_id>/report.csv", views.import_report, name="report"),
    path("imports/<uuid:job_id>/undo/", views.import_undo, name="undo"),
    path("bulk/", views.bulk_new, name="bulk_new"),
    path("bulk/<uuid:job_id>/", views.bulk_detail, name="bulk_detail"),
    path("bulk/<uuid:job_id>/undo/", views.bulk_undo, name="bulk_undo"),
    path("exports/", views.export_list, name="export_list"),
    path("exports/file/", views.export_file, name="export_file"),
    path("exports/<uuid:job_id>/", views.export_detail, name="export_detail"),
    path("exports/<uuid:job_id>/download/", views.export_download, name="export_download"),
]
