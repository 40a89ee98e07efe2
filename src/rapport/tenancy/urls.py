from django.urls import path

from rapport.users import views as user_views

from . import logo_views, views

app_name = "tenancy"
urlpatterns = [
    path("workspaces/switch/", views.switch, name="switch"),
    path("settings/", views.settings_view, name="settings"),
    path("settings/members/<uuid:membership_id>/role/", views.member_role, name="member_role"),
    path(
        "settings/members/<uuid:membership_id>/remove/", views.member_remove, name="member_remove"
    ),
    path("settings/invitations/", views.invite, name="invite"),
    path(
        "settings/invitations/<uuid:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    *logo_views.urlpatterns,
    path("settings/teams/", views.teams, name="teams"),
    path("settings/teams/<uuid:team_id>/", views.team_edit, name="team_edit"),
    path("settings/teams/<uuid:team_id>/delete/", views.team_delete, name="team_delete"),
    # API tokens are the users app's, shown as a tab of Settings.
    path("settings/tokens/", user_views.tokens, name="tokens"),
    path("settings/tokens/<uuid:token_id>/revoke/", user_views.token_revoke, name="token_revoke"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
