"""Telegram-facing adapters, one module per feature, each exposing ``register(app)``."""
