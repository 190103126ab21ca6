"""pg_dump and pg_restore reach the database the way Django's connection does: a host or
port left empty in DATABASE_URL is left to libpq's environment (several nodes and
PGTARGETSESSIONATTRS=read-write under Patroni), never replaced by a default."""

from __future__ import annotations

from django.db import connection

from sanjeevani.backups.archive import _libpq_env


def test_an_empty_host_leaves_libpq_the_nodes_it_was_given(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "HOST", "")
    monkeypatch.setitem(connection.settings_dict, "PORT", "")
    monkeypatch.setenv("PGHOST", "10.0.1.11,10.0.1.12")
    monkeypatch.setenv("PGPORT", "5432,5432")
    monkeypatch.setenv("PGTARGETSESSIONATTRS", "read-write")
    env = _libpq_env()
    assert env["PGHOST"] == "10.0.1.11,10.0.1.12"
    assert env["PGPORT"] == "5432,5432"
    assert env["PGTARGETSESSIONATTRS"] == "read-write"
    assert env["PGDATABASE"] == connection.settings_dict["NAME"]


def test_a_host_in_the_url_is_the_one_used(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "HOST", "db.example.internal")
    monkeypatch.setitem(connection.settings_dict, "PORT", "6432")
    monkeypatch.setenv("PGHOST", "elsewhere")
    env = _libpq_env()
    assert (env["PGHOST"], env["PGPORT"]) == ("db.example.internal", "6432")
