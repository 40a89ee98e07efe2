from django.urls import path

from . import dedupe_views, views

app_name = "contacts"
urlpatterns = [
    path("people/", views.person_list, name="person_list"),
    path("people/new/", views.person_create, name="person_create"),
    path("people/<uuid:person_id>/", views.person_detail, name="person_detail"),
    path("people/<uuid:person_id>/edit/", views.person_edit, name="person_edit"),
    path("people/<uuid:person_id>/delete/", views.person_delete, name="person_delete"),
    path("people/<uuid:person_id>/history/", views.person_history, name="person_history"),
    path("companies/", views.company_list, name="company_list"),
    path("companies/new/", views.company_create, name="company_create"),
    path("companies/autocomplete/", views.company_autocomplete, name="company_autocomplete"),
    path("companies/<uuid:company_id>/", views.company_detail, name="company_detail"),
    path("companies/<uuid:company_id>/edit/", views.company_edit, name="company_edit"),
    path("companies/<uuid:company_id>/delete/", views.company_delete, name="company_delete"),
    path("companies/<uuid:company_id>/history/", views.company_history, name="company_history"),
    path("trash/", views.trash, name="trash"),
    path("trash/restore/", views.trash_restore, name="trash_restore"),
    path("trash/delete/", views.trash_delete, name="trash_delete"),
    path("duplicates/", dedupe_views.duplicate_list, name="duplicate_list"),
    path("duplicates/scan/", dedupe_views.duplicate_scan, name="duplicate_scan"),
    path(
        "duplicates/scan/<uuid:scan_id>/",
        dedupe_views.duplicate_scan_progress,
        name="duplicate_scan_progress",
    ),
    path("duplicates/<uuid:pair_id>/", dedupe_views.duplicate_detail, name="duplicate_detail"),
    path(
        "duplicates/<uuid:pair_id>/dismiss/",
        dedupe_views.duplicate_dismiss,
        name="duplicate_dismiss",
    ),
    path(
        "people/<uuid:into_id>/merge/<uuid:from_id>/",
        dedupe_views.person_merge,
        name="person_merge",
    ),
    path(
        "companies/<uuid:into_id>/merge/<uuid:from_id>/",
        dedupe_views.company_merge,
        name="company_merge",
    ),
]
