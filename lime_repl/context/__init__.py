"""lime_repl.context."""
