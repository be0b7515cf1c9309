"""Canon: sources, people, characters, seasons, the film and awards, seeded from data/, and
each server's spoiler setting."""
