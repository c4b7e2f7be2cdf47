"""The rules of yishi: plain Python over pydantic models, no Telegram, no SQL."""
