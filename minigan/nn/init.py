"""Weight initialisation (filled in with the layers issue)."""
