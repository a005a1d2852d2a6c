"""lime_repl.bridge."""
