"""Notifications: devices, preferences, the event outbox, the inbox, deliveries and the FCM
gateway (schema ``notify``).  Imports neither ``backend`` nor ``auth``.  Built by the
notifications issue; the package exists now so that the import boundaries are tested from the
start."""
