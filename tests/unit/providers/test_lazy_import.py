"""Provider modules never import their HTTP client at import time, and never import an SDK at all."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_importing_providers_does_not_import_sdks() -> None:
    code = textwrap.dedent(
        """
        import sys
        import lime_repl.agent.providers
        import lime_repl.agent.providers.openai
        import lime_repl.agent.providers.openai_responses
        import lime_repl.agent.providers.anthropic
        from lime_repl.agent.providers import catalog
        catalog.load_catalog()
        provider = catalog.make_provider("openai", {"OPENAI_API_KEY": "k"})
        heavy = sorted(m for m in ("openai", "anthropic", "httpx", "httpx2", "pydantic") if m in sys.modules)
        assert heavy == [], heavy
        provider.warm_up()
        assert "httpx2" in sys.modules
        assert not {"openai", "anthropic", "pydantic"} & set(sys.modules)
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
