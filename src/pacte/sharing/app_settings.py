"""Sharing settings, read lazily (environment first, then Django settings).

Sharing has no setting yet: what may be disclosed, to whom and why is the policy file's to say
(``[recipients.*]``), read through ``pacte.policy.selectors``.
"""
