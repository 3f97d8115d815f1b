"""Which provider a command talks to: `--state FILE`, else the repo's `provider:` (default: the sandbox)."""

from __future__ import annotations

from pathlib import Path

from reconciler.config import CONFIG_FILE, Config
from reconciler.diagnostics import Position, ReconcilerError
from reconciler.paths import check_setting
from reconciler.providers import Provider

DEFAULT_SANDBOX = Path(".reconciler") / "sandbox.db"


def provider_for(config: Config, root: Path | None, state: str | None = None) -> Provider:
    """The provider for a repo rooted at `root` (paths in its config are relative to it)."""
    from reconciler.providers.snapshot import SnapshotProvider

    base = root or Path(".")
    if state:
        return SnapshotProvider(Path(state))
    kind, path = config.provider.kind, config.provider.path
    outside = check_setting(base, "provider.path", path, Position(str(base / CONFIG_FILE)))
    if outside:
        raise ReconcilerError("the repo's provider is not used", outside)
    if kind == "snapshot":
        if not path:
            raise ReconcilerError("provider kind 'snapshot' needs a 'path' to the state file in reconciler.yaml")
        return SnapshotProvider(base / path)
    if kind == "sandbox":
        from reconciler.providers.sandbox import SandboxProvider

        return SandboxProvider(base / (path or DEFAULT_SANDBOX))
    from reconciler.providers.http import HttpProvider

    settings = config.provider
    if not settings.url:
        raise ReconcilerError("provider kind 'http' needs a 'url' in reconciler.yaml, e.g. https://portal.example/v1")
    return HttpProvider(settings.url, token_env=settings.token_env, timeout=settings.timeout_seconds,
                        ca_file=base / settings.ca_file if settings.ca_file else None,
                        lease_seconds=settings.lease_seconds, retry_seconds=settings.retry_seconds,
                        root=base)
