"""The session runtime every front end drives (DESIGN.md section 6).

:class:`~lime_repl.runtime.session.SessionRuntime` owns one session, its
persistent shell, its agent and its context keeper, and reports what happens
as typed events (:mod:`lime_repl.runtime.events`) to a
:class:`~lime_repl.runtime.events.Sink` that the front end implements (the
REPL and line mode render them to the terminal, the bridge turns them into
``session.event`` notifications). Slash commands are registered in
:mod:`lime_repl.runtime.commands` and return data. Nothing in this package
prints or reads the terminal.
"""
