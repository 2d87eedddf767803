"""Delivery: the outbox and everything between a matched story and a sent message.

Routes and shaping (digests, quiet hours, rate limits), holding, composing messages from the store,
and the worker that sends them through ``alerts.channels`` and records every attempt. It may read
``alerts.match`` values (a message quotes the evidence); matching never imports delivery.
"""
