"""Reaching the duty officer (issue 17): channels (WeCom, DingTalk, Feishu/Lark group robots,
an SMS gateway, e-mail, a generic JSON webhook), routing rules, the on-call roster,
acknowledgement links and escalation.

Modules: `message` (the Chinese text, pure), `channels` (URL forms and one typed sender per
platform), `routing` (rules → targets, quiet hours, cooldown: pure), `roster` (who is on duty:
pure, plus the tables and CSV import), `ack` (signed single-use links), `escalation` (the next
step: pure), `service` (the database edges the drain calls). No Celery or web imports.
"""
