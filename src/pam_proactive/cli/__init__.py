"""The `pam-proactive` command line."""
