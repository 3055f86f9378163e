"""Quota job."""
