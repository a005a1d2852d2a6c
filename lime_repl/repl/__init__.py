"""lime_repl.repl."""
