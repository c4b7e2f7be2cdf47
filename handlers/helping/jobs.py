"""What the scheduler runs for neighbours' help: half an hour after the agreed time, the
helper is asked how long it took (or a request nobody was chosen for is closed)."""

from __future__ import annotations

from bot.context import YishiApp
from bot.domain.models import DueWork
from bot.scheduler import Done, Outcome
from handlers.helping import lifecycle


async def ask_how_it_went(app: YishiApp, work: DueWork) -> Outcome:
    services = app.bot_data.services
    async with services.db.transaction() as conn:
        await lifecycle.ask_how_it_went(conn, services, int(work.payload["help"]),
                                        services.clock.now())
    services.outbox.kick()
    return Done()
