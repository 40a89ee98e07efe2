from django.urls import path

from . import views

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
]
