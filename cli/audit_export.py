"""nrmflow audit export (being written)."""
