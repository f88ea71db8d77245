"""The citizen's side of notifications: push devices, preferences, the inbox and the Fund's
announcements, over ``notifications`` (which owns the tables and the dispatcher)."""
