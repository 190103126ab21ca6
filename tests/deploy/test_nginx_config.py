"""The shipped nginx file in its production form (TLS, HTTP/2, the port-80 redirect) is
valid for Debian's nginx: ``nginx -t`` with a throw-away certificate in place of Let's
Encrypt's. Runs without a database; tests/deploy/test_proxy_nodes.py runs the same file."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.deploy.proxy import NGINX, SITE, main_config

LIVE = "/etc/letsencrypt/live/tele.example.gov.in/"


def self_signed(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tele.example.gov.in")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (folder / "fullchain.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.mark.skipif(not Path(NGINX).exists(), reason="needs Debian's nginx: make browser-deps")
def test_the_production_form_passes_nginx_t(tmp_path):
    self_signed(tmp_path)
    site = SITE.read_text()
    assert site.count(LIVE) == 2
    site = site.replace(LIVE, f"{tmp_path}/").replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "sanjeevani.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(main_config(tmp_path, tmp_path / "sanjeevani.conf"))
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
        + ["-e", str(tmp_path / "nginx-error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr and "test is successful" in checked.stderr
