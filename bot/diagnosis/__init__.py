"""From evidence to a cause: pasted errors, probe failures and check results diagnosed."""
