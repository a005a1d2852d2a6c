"""lime_repl.exchange."""
