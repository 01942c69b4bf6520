"""Crisis mode: declare a crisis from a playbook, pause promotion, alert, follow, end, export."""
