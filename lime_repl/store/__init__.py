"""lime_repl.store."""
