"""The client's address comes from trusted proxies only (issue 10, item 4).

``client_ip`` is the one function every limit and audit row uses; the public verification
page's limit (60 a minute per address) shows it through HTTP.
"""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from sanjeevani.audit.services import client_ip
from sanjeevani.prescriptions.views import VERIFY_RATE_PER_MINUTE

VERIFY = "/rx/v/nosuchcode/"


def address(settings, remote, forwarded=None, proxies=()):
    settings.TRUSTED_PROXIES = list(proxies)
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


def test_without_trusted_proxies_the_header_is_ignored(settings):
    assert address(settings, "198.51.100.1", "1.2.3.4") == "198.51.100.1"


def test_a_header_from_an_untrusted_peer_is_ignored(settings):
    assert address(settings, "198.51.100.1", "1.2.3.4", ["10.0.0.0/8"]) == "198.51.100.1"


def test_read_right_to_left_through_trusted_proxies_only(settings):
    proxies = ["10.0.0.0/8", "192.0.2.10"]
    # The client put "6.6.6.6" in the header itself; the edge proxy appended the real peer.
    chain = "6.6.6.6, 203.0.113.5, 10.1.1.1"
    assert address(settings, "192.0.2.10", chain, proxies) == "203.0.113.5"
    assert address(settings, "10.0.0.2", "203.0.113.5", proxies) == "203.0.113.5"
    # Every hop trusted: the leftmost is as far as we can see.
    assert address(settings, "10.0.0.2", "10.0.0.3, 10.0.0.4", proxies) == "10.0.0.3"
    # A garbled hop stops the walk at the last trusted address.
    assert address(settings, "10.0.0.2", "203.0.113.5, bogus", proxies) == "10.0.0.2"
    assert address(settings, "10.0.0.2", "", proxies) == "10.0.0.2"


def test_ipv6_and_mapped_addresses(settings):
    assert address(settings, "2001:db8::1", "203.0.113.5", ["2001:db8::/32"]) == "203.0.113.5"
    assert address(settings, "::ffff:10.0.0.2", "203.0.113.5", ["10.0.0.0/8"]) == "203.0.113.5"
    assert address(settings, "not an address") is None


def _exhaust(client, **extra):
    for n in range(VERIFY_RATE_PER_MINUTE):
        response = client.get(VERIFY, HTTP_X_FORWARDED_FOR=f"100.64.{n}.1", **extra)
        assert response.status_code == 404


@pytest.mark.django_db
def test_a_forged_header_does_not_move_the_verification_limit(client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    _exhaust(client, REMOTE_ADDR="198.51.100.20")
    response = client.get(VERIFY, HTTP_X_FORWARDED_FOR="100.64.99.1", REMOTE_ADDR="198.51.100.20")
    assert response.status_code == 429
    assert response["Retry-After"] == "60"


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_client_has_its_own_limit(client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    for _ in range(VERIFY_RATE_PER_MINUTE):
        response = client.get(
            VERIFY, HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.30", REMOTE_ADDR="10.0.0.2"
        )
        assert response.status_code == 404
    limited = client.get(VERIFY, HTTP_X_FORWARDED_FOR="203.0.113.30", REMOTE_ADDR="10.0.0.3")
    assert limited.status_code == 429
    other = client.get(VERIFY, HTTP_X_FORWARDED_FOR="203.0.113.31", REMOTE_ADDR="10.0.0.2")
    assert other.status_code == 404
