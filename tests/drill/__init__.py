"""The backup and restore drill (``make drill``): backups are proven by restoring them."""
