"""lime_repl.exchange.foreign."""
