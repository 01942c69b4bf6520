"""Content: lessons, posts, charter and playbooks, read from Markdown files."""
