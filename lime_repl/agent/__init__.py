"""lime_repl.agent."""
