"""The hub-and-spoke line's SQL functions, one file per version (``queueing.sql`` loads and
installs them)."""
