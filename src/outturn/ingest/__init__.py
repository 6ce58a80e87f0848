"""Readers, one per source format: each returns validated records plus problems."""
