"""Notifications: promotion, rollback, reconcile and review events sent to a webhook."""
