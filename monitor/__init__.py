"""The monitor: the backlog at a glance (status, dashboard data), Prometheus metrics, health, and alerts."""
