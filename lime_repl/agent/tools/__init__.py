"""lime_repl.agent.tools."""
