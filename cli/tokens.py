"""nrmflow tokens commands (filled in by issue 7)."""
