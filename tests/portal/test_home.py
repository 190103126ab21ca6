import re

import pytest
from django.urls import NoReverseMatch, reverse

pytestmark = pytest.mark.django_db

PAGE_BUDGET_BYTES = 150 * 1024


def _url(name: str, fallback: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


def test_home_page_explains_the_service_and_links_both_sign_ins(client):
    response = client.get("/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Online OPD" in html and "Health and Wellness Centre" in html
    assert f'href="{_url("accounts:otp_sign_in", "/accounts/otp/")}"' in html
    assert f'href="{_url("accounts:staff_login", "/accounts/staff/")}"' in html
    assert '<meta name="viewport"' in html
    assert 'action="/i18n/setlang/"' in html
    assert 'value="hi"' in html


def test_home_page_with_its_stylesheet_stays_under_150_kb(client):
    response = client.get("/")
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', response.content.decode())
    assert stylesheets, "the page links no stylesheet"

    total = len(response.content)
    for href in stylesheets:
        css = client.get(href)
        assert css.status_code == 200, href
        total += len(b"".join(css.streaming_content) if css.streaming else css.content)

    assert total < PAGE_BUDGET_BYTES, f"{total} bytes"
    assert "<script" not in response.content.decode().split("</main>")[0]


def test_home_page_renders_in_hindi(client):
    client.cookies["django_language"] = "hi"

    response = client.get("/")

    html = response.content.decode()
    assert '<html lang="hi">' in html
    assert "घर बैठे सरकारी डॉक्टर से परामर्श करें" in html
    assert "See a government doctor from home" not in html


def test_language_switch_sets_hindi(client):
    response = client.post("/i18n/setlang/", {"language": "hi", "next": "/"})
    assert response.status_code == 302

    html = client.get("/").content.decode()
    assert "घर बैठे सरकारी डॉक्टर से परामर्श करें" in html


def test_signed_in_header_names_the_user_and_offers_sign_out(client):
    from tests.factories import PatientAccountFactory

    account = PatientAccountFactory(first_name="Asha", last_name="Kale")
    client.force_login(account)

    html = client.get("/").content.decode()

    assert "Signed in as Asha Kale" in html
    assert re.search(r'<form method="post" action="[^"]*/accounts/logout/"', html)
    assert reverse("patients:family") in html
