"""Alerts from model monitoring (post-market monitoring, Art. 72) open cases (issue 24).

``payloads`` reads Alertmanager's webhook and the generic JSON into signals, ``service`` turns a
signal into a case (or a line on one) in one transaction, ``views`` renders what the thread and
the triage channel show, ``http`` is the WSGI edge, ``config`` the workspace file's ``alerts:``.
"""
