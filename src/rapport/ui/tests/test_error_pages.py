import pytest

pytestmark = pytest.mark.django_db


def test_unknown_page_is_a_friendly_404(browser, settings):
    settings.DEBUG = False
    r = browser.get("/no-such-page/")
    assert r.status_code == 404
    html = r.content.decode()
    assert "Not found" in html
    assert "not in this workspace" in html
    assert "Rapport" in html  # the site layout, not Django's bare page
