"""nrmflow partners commands (filled in by issue 7)."""
