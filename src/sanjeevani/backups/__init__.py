"""Backups that are proven by restoring them (issue 15, item 7).

A backup is the database dump, the private media and the platform's signing key, with a
manifest of what the database held at the instant of the dump. A restore is judged by that
manifest: every table's row count, every prescription's id and signatures, and every stored
file referenced by a row. See docs/backups.md.
"""
