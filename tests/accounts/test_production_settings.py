"""Production settings refuse unsafe configuration and pass Django's deployment checks.

Each case runs ``manage.py`` in a fresh process, since settings are read once at start-up.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MANAGE = ROOT / "manage.py"


def production_env(var_dir: Path, **overrides: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DEBUG",
            "REQUIRE_STAFF_2FA",
            "SMS_BACKEND",
            "SMS_GATEWAY_URL",
            "ALLOW_LOCAL_SMS_IN_PRODUCTION",
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
            "DJANGO_SETTINGS_MODULE",
            "TRUSTED_PROXIES",
        }
    }
    env.update(
        SANJEEVANI_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="example.org",
        SMS_BACKEND="http",
        SMS_GATEWAY_URL="https://sms.example.org/send",
        SANJEEVANI_VAR=str(var_dir),
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(MANAGE), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_a_sound_production_configuration_passes_check_deploy(tmp_path):
    env = production_env(tmp_path)
    assert len(env["SECRET_KEY"]) == 64
    created = manage(env, "create_signing_key")
    assert created.returncode == 0, created.stdout + created.stderr
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_without_the_prescription_signing_key(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy")
    assert result.returncode != 0
    assert "prescription signing key" in result.stdout + result.stderr
    assert "create_signing_key" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY must be set to a random value of at least 50"),
        ({"SECRET_KEY": "too-short-a-secret"}, "SECRET_KEY must be set to a random value"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS must name the hosts"),
        ({"SMS_BACKEND": "console"}, "SMS_BACKEND must be 'http' in production"),
        ({"DEBUG": "1"}, "DEBUG must be off in production"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS must not contain a wildcard"),
        ({"ALLOWED_HOSTS": "example.org,*.example.org"}, "ALLOWED_HOSTS must not contain"),
        ({"ALLOWED_HOSTS": ".example.org"}, "ALLOWED_HOSTS must not contain a wildcard"),
        ({"REQUIRE_STAFF_2FA": "0"}, "REQUIRE_STAFF_2FA must stay on in production"),
        ({"SECRET_KEY": "sanjeevani" * 5}, "not a word or a short piece repeated"),
        ({"SECRET_KEY": "abcdefghijklmnopqrstuvwxyz" * 2}, "SECRET_KEY must be set to a random"),
        ({"SECRET_KEY": "0123456789abcdef" * 4}, "SECRET_KEY must be set to a random value"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8,not-a-network"}, "TRUSTED_PROXIES: 'not-a-network'"),
    ],
    ids=[
        "missing-secret-key",
        "short-secret-key",
        "missing-allowed-hosts",
        "console-sms",
        "debug",
        "wildcard-host",
        "wildcard-subdomain",
        "leading-dot-host",
        "staff-2fa-off",
        "repeated-word-secret",
        "repeated-alphabet-secret",
        "hex-secret-16-distinct",
        "bad-trusted-proxy",
    ],
)
def test_unsafe_production_configuration_is_refused(tmp_path, overrides, message):
    result = manage(production_env(tmp_path, **overrides), "check")
    assert result.returncode != 0
    assert message in result.stderr


def test_production_turns_on_staff_two_factor(tmp_path):
    result = manage(
        production_env(tmp_path),
        "shell",
        "-c",
        "from django.conf import settings; print(settings.REQUIRE_STAFF_2FA, settings.DEBUG)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["True", "False"]


def test_seed_demo_refuses_in_production(tmp_path):
    result = manage(production_env(tmp_path), "seed_demo")
    assert result.returncode != 0
    assert "seed_demo refuses to run in production" in result.stderr
    assert "sanjeevani-demo" not in result.stdout


def test_the_message_says_what_to_set(tmp_path):
    result = manage(production_env(tmp_path, DEBUG="true"), "check")
    assert "set DEBUG=0" in result.stderr
    result = manage(production_env(tmp_path, SECRET_KEY="x" * 60), "check")
    assert "secrets.token_urlsafe" in result.stderr


def test_a_hex_secret_key_is_accepted(tmp_path):
    result = manage(production_env(tmp_path, SECRET_KEY=secrets.token_hex(32)), "check")
    assert result.returncode == 0, result.stderr
