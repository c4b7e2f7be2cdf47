"""yishi (议事): a Telegram bot for residents' building group chats."""

__version__ = "0.1.0"
