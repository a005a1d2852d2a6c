"""Output policies: capping and redaction of what lime stores (DESIGN.md sections 2 and 3).

The store does not know them: :func:`lime_repl.outputs.guard.output_guard` is handed to it
(``StoreOptions.guard``, ``Session.ephemeral(guard=...)``) and runs on every entry before the
store's own structural guard (valid UTF-8, the line-size bound).
"""
