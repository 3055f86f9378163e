"""Payout job."""
