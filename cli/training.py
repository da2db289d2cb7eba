"""nrmflow training commands (filled in by issue 7)."""
