"""Permissions: the generic policy, with rule owners allowed to delete and re-time their rules."""

from __future__ import annotations

from typing import Any

from rucio.core.permission import generic

# the only options a rule's owner may change on their own rule
OWNER_RULE_OPTIONS = {"lifetime"}


def _owns_rule(issuer: Any, rule_id: Any, session: Any) -> bool:
    from rucio.common.exception import RuleNotFound
    from rucio.core.rule import get_rule

    try:
        return get_rule(rule_id=rule_id, session=session)["account"] == issuer
    except RuleNotFound:
        return False


def has_permission(issuer: Any, action: str, kwargs: dict[str, Any], session: Any = None) -> bool:
    if action == "del_rule" and _owns_rule(issuer, kwargs.get("rule_id"), session):
        return True
    if action == "update_rule":
        options = set((kwargs.get("options") or {}).keys())
        if options and options <= OWNER_RULE_OPTIONS and _owns_rule(issuer, kwargs.get("rule_id"), session):
            return True
    return generic.has_permission(issuer, action, kwargs, session=session)
