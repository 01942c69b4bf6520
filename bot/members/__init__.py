"""Members of the programme: who they are, where they work, how to reach them."""
