"""The charter of conduct: versions, acknowledgements, reminders until acknowledged."""
