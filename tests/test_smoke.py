import pytest


@pytest.mark.django_db
def test_home_page_renders(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Sanjeevani" in response.content


def test_api_schema_lists_the_api(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200


def test_api_documentation_page_needs_no_internet(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"cdn." not in response.content
    assert b"/static/drf_spectacular_sidecar/redoc" in response.content
