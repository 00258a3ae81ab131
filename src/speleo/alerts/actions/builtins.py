from speleo.alerts.actions import register_action  # noqa: F401
