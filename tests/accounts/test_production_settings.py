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
    ],
    ids=["missing-secret-key", "short-secret-key", "missing-allowed-hosts", "console-sms"],
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
