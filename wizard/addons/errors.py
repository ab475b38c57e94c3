"""Add-on failures, already explained (what happened, why, what to do), so the engine renders them like any
translated Azure failure."""
from __future__ import annotations

from wizard.failure import AzureFailure, AzureLayerError


class AddonError(AzureLayerError):
    def __init__(self, what: str, why: str, action: str, *, code: str = "AddonFailed", category: str = "addon",
                 fix_field: str | None = None, status: int | None = None) -> None:
        super().__init__(AzureFailure(category=category, code=code, what=what, why=why, action=action,
                                      request_id=None, correlation_id=None, status=status, message="",
                                      fix_field=fix_field))
        self.what, self.why, self.action = what, why, action

    def __str__(self) -> str:
        return f"{self.what} {self.why} {self.action}"
