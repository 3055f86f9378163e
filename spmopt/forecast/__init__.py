"""Forecast job."""
