"""View models: what the front ends and the exports show of a session, as plain data and display text.

Display belongs here, not in ``store`` (issue "One session runtime under every front end"):
:mod:`lime_repl.views.tree` draws the tree that :mod:`lime_repl.store.tree` builds.
"""
