"""Personal data: what Relais holds about a person (export), forgetting them (erasure), retention.

The export and the erasure walk every table of the metadata, so a table added
later is covered without editing this package: a column that refers to a
member (a foreign key to ``member.id``) is theirs to see; every text and JSON
column is searched for their identifiers and their words when they are erased.
"""
