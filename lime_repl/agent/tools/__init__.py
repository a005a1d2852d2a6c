"""Agent tools: ``read``, ``bash``, ``edit``, ``write`` (DESIGN.md section 4b)."""
