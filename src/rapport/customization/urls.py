from django.urls import path

from . import views

app_name = "customization"
urlpatterns = [
    path("settings/custom-fields/", views.field_list, name="fields"),
    path("settings/custom-fields/new/", views.field_create, name="field_create"),
    path("settings/custom-fields/<uuid:field_id>/edit/", views.field_edit, name="field_edit"),
    path("settings/custom-fields/<uuid:field_id>/move/", views.field_move, name="field_move"),
    path("settings/custom-fields/<uuid:field_id>/delete/", views.field_delete, name="field_delete"),
    path("views/new/", views.view_create, name="view_create"),
    path("views/<uuid:view_id>/edit/", views.view_edit, name="view_edit"),
]
