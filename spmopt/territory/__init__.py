"""Territory job."""
