"""Block Kit rendering: pure functions from result values to Slack messages and views."""
