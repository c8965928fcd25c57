"""Which roles a run uses: offline unless a model is configured."""

from __future__ import annotations

from app.config import Settings
from app.research.roles import Roles, offline_roles


def roles_for(settings: Settings) -> Roles:
    """Offline roles unless HARNESS_MODEL or HARNESS_BASE_URL is set (see app/models/chat.py).
    The model client (and `openai`) is imported and built only when a model is configured."""
    if not getattr(settings, "uses_model", False):
        return offline_roles()
    from app.models.chat import ModelCaller
    from app.models.roles import model_roles

    return model_roles(ModelCaller.from_settings(settings))
